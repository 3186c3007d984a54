import { Hono } from 'hono'
import * as z from 'zod'
import { seal } from '../auth/seal'
import { EVENT_TYPES, type EventType } from '../directory/events'
import type { WebhookRow } from '../directory/schema'
import { readJson } from '../http/body'
import type { AppEnv } from '../http/context'
import { internalError, invalidValue, parseWith } from '../scim/errors'
import { openSecret, post, sealContext, targetProblem } from '../webhooks/deliver'
import { kickWebhooks } from '../webhooks/queue'
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  recordTest,
  updateWebhook,
  webhookState,
} from '../directory/webhooks'
import { adminAuth } from './auth'

/*
 * /api/v1/webhooks: endpoints that receive the change feed, signed (Standard Webhooks). The admin
 * token only: a webhook sends the whole directory's changes wherever it points.
 */

const PREFIXES = [...new Set(EVENT_TYPES.map((t) => t.split('.')[0]!))]

/** "user.*" and the like to the event types they stand for; "*" is every type. Unknown names are refused. */
export function expandPatterns(patterns: string[]): EventType[] {
  const unknown = patterns.filter(
    (p) => p !== '*' && !(EVENT_TYPES as readonly string[]).includes(p) && !(p.endsWith('.*') && PREFIXES.includes(p.slice(0, -2)))
  )
  if (unknown.length > 0)
    throw invalidValue(
      `events: ${unknown.map((u) => `"${u}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not an event type or pattern; ` +
        `use "*", ${PREFIXES.map((p) => `"${p}.*"`).join(', ')} or one of ${EVENT_TYPES.join(', ')}.`
    )
  return EVENT_TYPES.filter((t) => patterns.some((p) => p === '*' || p === t || (p.endsWith('.*') && t.startsWith(p.slice(0, -1)))))
}

const urlSchema = z.string({ error: 'must be a string' }).trim().max(2000, { error: 'must be at most 2000 characters' })
const eventsSchema = z
  .array(z.string({ error: 'must be strings' }), { error: 'must be a list of event types such as ["user.*", "group.member_added"]' })
  .min(1, { error: 'must name at least one event type' })
  .max(50, { error: 'must have at most 50 entries' })

const createSchema = z.object({
  url: urlSchema,
  events: eventsSchema,
  enabled: z.boolean({ error: 'must be true or false' }).default(true),
})
const patchSchema = z
  .object({ url: urlSchema.optional(), events: eventsSchema.optional(), enabled: z.boolean({ error: 'must be true or false' }).optional() })
  .refine((p) => p.url !== undefined || p.events !== undefined || p.enabled !== undefined, { error: 'give url, events or enabled' })
const deliveriesSchema = z.object({
  limit: z.coerce.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, { error: 'is not a cursor this API gave out' })
    .transform(Number)
    .optional(),
})

/** A webhook as the API shows it: never its secret. */
const view = (row: WebhookRow) => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as string[],
  enabled: row.enabled,
  status: webhookState(row),
  failingSince: row.failingSince,
  nextAttemptAt: row.nextAttemptAt,
  disabledReason: row.disabledReason,
  lastDeliveryAt: row.lastDeliveryAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
})

async function checkedUrl(env: Env, url: string): Promise<string> {
  const problem = await targetProblem(env, url)
  if (problem) throw invalidValue(`url: ${problem}.`)
  return url
}

/** A Standard Webhooks secret: "whsec_" and 32 random bytes in base64. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `whsec_${btoa(String.fromCharCode(...bytes))}`
}

export const webhookRoutes = new Hono<AppEnv>({ strict: false })
  .use('/webhooks', adminAuth())
  .use('/webhooks/*', adminAuth())
  .post('/webhooks', async (c) => {
    const input = parseWith(createSchema, await readJson(c))
    const types = expandPatterns(input.events)
    const url = await checkedUrl(c.env, input.url)
    const id = crypto.randomUUID()
    const secret = newSecret()
    const sealedSecret = await seal(c.env, secret, sealContext(id)).catch((e: unknown) => {
      throw internalError(`The signing secret cannot be stored: ${(e as Error).message}`)
    })
    let row = await createWebhook(c.get('db'), { id, url, events: input.events, types, sealedSecret })
    if (!input.enabled) row = await updateWebhook(c.get('db'), id, { enabled: false })
    // The secret is shown here only: it is stored sealed, and no endpoint returns it again.
    return c.json({ ...view(row), secret }, 201)
  })
  .get('/webhooks', async (c) => c.json({ webhooks: (await listWebhooks(c.get('db'))).map(view) }))
  .get('/webhooks/:id', async (c) => c.json(view(await getWebhook(c.get('db'), c.req.param('id')))))
  .patch('/webhooks/:id', async (c) => {
    const input = parseWith(patchSchema, await readJson(c))
    await getWebhook(c.get('db'), c.req.param('id'))
    const change = {
      ...(input.url !== undefined ? { url: await checkedUrl(c.env, input.url) } : {}),
      ...(input.events !== undefined ? { events: input.events, types: expandPatterns(input.events) } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    }
    const row = await updateWebhook(c.get('db'), c.req.param('id'), change)
    // Re-enabled: what it missed goes out now.
    if (input.enabled) c.executionCtx.waitUntil(kickWebhooks(c.env))
    return c.json(view(row))
  })
  .delete('/webhooks/:id', async (c) => {
    await deleteWebhook(c.get('db'), c.req.param('id'))
    return c.body(null, 204)
  })
  // Sends a "ping" now and answers with how it went; the feed position and failure state stay as they were.
  .post('/webhooks/:id/test', async (c) => {
    const row = await getWebhook(c.get('db'), c.req.param('id'))
    const problem = await targetProblem(c.env, row.url)
    if (problem) throw invalidValue(`url: ${problem}.`)
    const id = `ping_${crypto.randomUUID()}`
    const event = { id, type: 'ping', occurredAt: new Date().toISOString(), integrationId: null, data: { webhookId: row.id } }
    const attempt = await post(row.url, await openSecret(c.env, row), { id, type: 'ping', body: JSON.stringify(event) })
    await recordTest(c.get('d1'), row.id, attempt)
    return c.json({
      delivered: attempt.status === 'delivered',
      responseStatus: attempt.responseStatus,
      latencyMs: attempt.latencyMs,
      error: attempt.error,
    })
  })
  .get('/webhooks/:id/deliveries', async (c) => {
    const { limit, cursor } = parseWith(deliveriesSchema, c.req.query())
    return c.json(await listDeliveries(c.get('db'), c.req.param('id'), limit, cursor))
  })
