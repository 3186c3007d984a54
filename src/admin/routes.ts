import { Hono, type Context } from 'hono'
import * as z from 'zod'
import { deleteToken, putToken } from '../auth/token-store'
import { generateToken } from '../auth/token'
import { createIntegration, deleteIntegration, getIntegration, listIntegrations, replaceToken } from '../directory/integrations'
import type { IntegrationRow } from '../directory/schema'
import { notFound } from '../scim/errors'
import { readJson } from '../http/body'
import type { AppEnv } from '../http/context'
import { scimBaseUrl } from '../http/respond'
import { parseWith } from '../http/validate'
import { adminAuth } from './auth'

const createIntegrationSchema = z.object({
  kind: z.literal('scim', { error: 'must be "scim" (native Entra and Google imports are not available yet)' }),
  name: z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' }),
})

/** An integration as the admin API shows it: never a token or token hash. */
function view(c: Context<AppEnv>, row: IntegrationRow) {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    scimUrl: scimBaseUrl(c),
    createdAt: row.createdAt,
    lastActivityAt: row.lastActivityAt,
    counts: { activeUsers: row.activeUsers, archivedUsers: row.archivedUsers, groups: row.groupCount },
  }
}

export const adminRoutes = new Hono<AppEnv>({ strict: false })
  .use('*', adminAuth())
  .post('/integrations', async (c) => {
    const input = parseWith(createIntegrationSchema, await readJson(c))
    const { token, tokenId, hash } = await generateToken()
    const row = await createIntegration(c.get('db'), { id: crypto.randomUUID(), ...input, tokenId, tokenHash: hash })
    await putToken(c.env.TOKENS, hash, { integrationId: row.id, tokenId })
    const { counts: _counts, lastActivityAt: _last, ...created } = view(c, row)
    return c.json({ ...created, token }, 201)
  })
  .get('/integrations', async (c) => c.json({ integrations: (await listIntegrations(c.get('db'))).map((row) => view(c, row)) }))
  .get('/integrations/:id', async (c) => c.json(view(c, await getIntegration(c.get('db'), c.req.param('id')))))
  .post('/integrations/:id/token', async (c) => {
    const id = c.req.param('id')
    const { token, tokenId, hash } = await generateToken()
    // D1 first: from this write on, the old token fails everywhere, whatever KV still says.
    const previous = await replaceToken(c.get('db'), id, tokenId, hash)
    await Promise.all([putToken(c.env.TOKENS, hash, { integrationId: id, tokenId }), deleteToken(c.env.TOKENS, previous)])
    return c.json({ token })
  })
  .delete('/integrations/:id', async (c) => {
    const previous = await deleteIntegration(c.get('db'), c.req.param('id'))
    await deleteToken(c.env.TOKENS, previous)
    return c.body(null, 204)
  })
  .all('*', (c) => {
    throw notFound(`No admin endpoint ${c.req.method} ${new URL(c.req.url).pathname}.`)
  })
