import { Hono } from 'hono'
import * as z from 'zod'
import type { ApiKeyRow } from '../directory/schema'
import { deleteApiKeyEntry, putApiKey } from '../auth/token-store'
import { API_KEY_PREFIX, generateToken } from '../auth/token'
import { createApiKey, deleteApiKey, listApiKeys } from '../directory/api-keys'
import { getIntegration, listIntegrations, notDeleting } from '../directory/integrations'
import { deleteIntegration } from './integration-deletion'
import { resealAll } from './reseal'
import { notFound, parseWith } from '../scim/errors'
import { getRun, listRuns } from '../directory/runs'
import { approveRun, cancelRun, rejectRun, runView, startRun } from '../sync/runs'
import { runChanges } from '../directory/run-changes'
import { readJson } from '../http/body'
import type { AppEnv } from '../http/context'
import { adminAuth } from './auth'
import {
  addIntegration,
  changeIntegration,
  connectLink,
  details,
  nameSchema,
  rotateToken,
  runPageSchema,
  syncSchema,
  view,
} from './integrations'

const createApiKeySchema = z.object({
  name: nameSchema,
  scope: z.enum(['read', 'write'], { error: 'must be "read" (the read API and the events feed) or "write" (also device assignments)' }),
})

/** An API key as listed: never the key itself nor its hash. */
const keyView = (row: ApiKeyRow) => ({ id: row.id, name: row.name, scope: row.scope, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt })

/** The admin API under /api/v1 (the admin token only); what it does lives in ./integrations.ts and the directory. */
export const adminRoutes = new Hono<AppEnv>({ strict: false })
  .use('*', adminAuth())
  .post('/integrations', async (c) => {
    const { row, token } = await addIntegration(c, await readJson(c))
    const { counts: _counts, lastActivityAt: _last, ...created } = view(c, row)
    return c.json({ ...created, token }, 201)
  })
  .get('/integrations', async (c) => c.json({ integrations: (await listIntegrations(c.get('db'))).map((row) => view(c, row)) }))
  .get('/integrations/:id', async (c) => c.json(await details(c, await getIntegration(c.get('db'), c.req.param('id')))))
  .patch('/integrations/:id', async (c) => {
    return c.json(await details(c, await changeIntegration(c, c.req.param('id'), await readJson(c))))
  })
  // "Sign in with Azure / Google" / "Re-authenticate": a start link for the admin's browser. Not a
  // redirect: a client that followed it (curl -L) would spend the link's one opening itself.
  .get('/integrations/:id/connect', async (c) => {
    // ?changeTenant=true: a re-authentication that may move the integration to another tenant.
    const link = await connectLink(c, c.req.param('id'), c.req.query('changeTenant') === 'true')
    return c.json({ url: link.url, expiresAt: link.expiresAt })
  })
  // "Sync users now": the same run the cron starts, at once.
  // {"dryRun": true}: the preview, which reports what a run would change and writes no directory row.
  .post('/integrations/:id/sync', async (c) => {
    const input = parseWith(syncSchema, (await readJson(c, { optional: true })) ?? {})
    const row = notDeleting(await getIntegration(c.get('db'), c.req.param('id')))
    const { runId } = await startRun(c.get('db'), c.env.SYNC, row, 'manual', { dryRun: input.dryRun })
    return c.json({ runId, status: 'running', dryRun: input.dryRun }, 202)
  })
  // The run history (the last KEPT_RUNS runs), newest first.
  .get('/integrations/:id/syncs', async (c) => {
    const { limit, cursor } = parseWith(runPageSchema, c.req.query())
    const row = await getIntegration(c.get('db'), c.req.param('id'))
    const page = await listRuns(c.get('db'), row.id, limit, cursor)
    return c.json({ data: page.runs.map(runView), nextCursor: page.nextCursor })
  })
  .get('/integrations/:id/syncs/:runId', async (c) => {
    const run = await getRun(c.get('db'), c.req.param('id'), c.req.param('runId'))
    if (!run) throw notFound(`No sync run "${c.req.param('runId')}" for this integration.`)
    return c.json({ ...runView(run), changes: await runChanges(c.get('db'), run.id) })
  })
  // The safeguard's decision on a held run: apply exactly what it held, or discard it.
  .post('/integrations/:id/syncs/:runId/approve', async (c) => {
    const row = notDeleting(await getIntegration(c.get('db'), c.req.param('id')))
    await approveRun(c.get('db'), c.env.SYNC, row.id, c.req.param('runId'))
    return c.json({ runId: c.req.param('runId'), status: 'running' }, 202)
  })
  .post('/integrations/:id/syncs/:runId/reject', async (c) => {
    await rejectRun(c.get('db'), c.req.param('id'), c.req.param('runId'))
    return c.json({ runId: c.req.param('runId'), status: 'rejected' })
  })
  // Stops a running run at its next step boundary; GET the run to see it end as cancelled.
  .post('/integrations/:id/syncs/:runId/cancel', async (c) => {
    const run = await cancelRun(c.get('db'), c.req.param('id'), c.req.param('runId'))
    return c.json(runView(run), 202)
  })
  .post('/integrations/:id/token', async (c) => c.json({ token: await rotateToken(c, c.req.param('id')) }))
  // Users with a device are kept (detached); the rest goes. 200 with the counts when done within the
  // request, 202 with progress when a Workflow carries on (see integration-deletion.ts).
  .delete('/integrations/:id', async (c) => {
    const { status, body } = await deleteIntegration(c.env, c.get('d1'), c.req.param('id'))
    return c.json(body, status)
  })
  // ENCRYPTION_KEY rotation (SECURITY.md): every stored secret under ENCRYPTION_KEY_PREVIOUS moves to ENCRYPTION_KEY.
  .post('/encryption/reseal', async (c) => c.json(await resealAll(c.env, c.get('db'))))
  // Application API keys: the key is shown in the creation response only; D1 and KV keep its hash.
  .post('/api-keys', async (c) => {
    const input = parseWith(createApiKeySchema, await readJson(c))
    const { token, tokenId, hash } = await generateToken(API_KEY_PREFIX)
    const row = await createApiKey(c.get('db'), { id: tokenId, name: input.name, scope: input.scope, tokenHash: hash })
    await putApiKey(c.env.TOKENS, hash, row.id)
    const { lastUsedAt: _unused, ...created } = keyView(row)
    return c.json({ ...created, token }, 201)
  })
  .get('/api-keys', async (c) => c.json({ apiKeys: (await listApiKeys(c.get('db'))).map(keyView) }))
  .delete('/api-keys/:id', async (c) => {
    // D1 first: from this write on the key fails everywhere, whatever KV still says.
    await deleteApiKeyEntry(c.env.TOKENS, await deleteApiKey(c.get('db'), c.req.param('id')))
    return c.body(null, 204)
  })
  .all('*', (c) => {
    throw notFound(`No admin endpoint ${c.req.method} ${new URL(c.req.url).pathname}.`)
  })
