import { and, desc, eq, lt, sql } from 'drizzle-orm'
import { nowIso, type Db } from './db'
import { webhookDeliveries, webhooks, type WebhookRow } from './schema'
import { readBatch } from './session'
import { notFound } from '../scim/errors'

/*
 * Webhook endpoints and their deliveries in D1 (sent by src/webhooks): the only code that writes them. Delivery state
 * (cursor, lease, backoff) changes only through the statements here, each one batch.
 */

export type DeliveryStatus = (typeof webhookDeliveries.$inferSelect)['status']

/** How a webhook is doing, as the API shows it. */
export const webhookState = (row: WebhookRow) => (!row.enabled ? 'disabled' : row.failingSince ? 'failing' : 'healthy')

export async function createWebhook(
  db: Db,
  input: { id: string; url: string; events: string[]; types: string[]; sealedSecret: string }
): Promise<WebhookRow> {
  const now = nowIso()
  const [[row]] = await db.batch([
    db
      .insert(webhooks)
      .values({
        id: input.id,
        url: input.url,
        events: JSON.stringify(input.events),
        types: JSON.stringify(input.types),
        enabled: true,
        sealedSecret: input.sealedSecret,
        // From now on: a new endpoint gets the changes after its creation, not the feed's history.
        cursor: sql`(SELECT coalesce(max(id), 0) FROM events)`,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
  ])
  return row!
}

export async function listWebhooks(db: Db): Promise<WebhookRow[]> {
  const [rows] = await db.batch([db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id)])
  return rows
}

export async function getWebhook(db: Db, id: string): Promise<WebhookRow> {
  const [[row]] = await db.batch([db.select().from(webhooks).where(eq(webhooks.id, id))])
  if (!row) throw notFound(`No webhook with id "${id}".`)
  return row
}

/**
 * Changes url, events or enabled. Enabling a disabled or failing webhook clears its failure: the
 * next delivery is due at once, from where it stopped (the event it gave up on comes again).
 */
export async function updateWebhook(
  db: Db,
  id: string,
  change: { url?: string; events?: string[]; types?: string[]; enabled?: boolean }
): Promise<WebhookRow> {
  const [[row]] = await db.batch([
    db
      .update(webhooks)
      .set({
        ...(change.url !== undefined ? { url: change.url } : {}),
        ...(change.events !== undefined ? { events: JSON.stringify(change.events), types: JSON.stringify(change.types) } : {}),
        ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
        ...(change.enabled === true ? { failingSince: null, attempts: 0, nextAttemptAt: null, disabledReason: null } : {}),
        ...(change.enabled === false ? { disabledReason: 'Disabled through the API.' } : {}),
        updatedAt: nowIso(),
      })
      .where(eq(webhooks.id, id))
      .returning(),
  ])
  if (!row) throw notFound(`No webhook with id "${id}".`)
  return row
}

export async function deleteWebhook(db: Db, id: string) {
  const [, gone] = await db.batch([
    db.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id)),
    db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id }),
  ])
  if (gone.length === 0) throw notFound(`No webhook with id "${id}".`)
}

/**
 * Takes the webhook for delivery until `until`, if it is enabled, due and nobody else holds it:
 * one deliverer at a time is what keeps an endpoint's events in order.
 */
export async function acquireLease(d1: D1Database, id: string, now: string, until: string): Promise<WebhookRow | null> {
  const [rows] = await readBatch<Record<string, unknown>>(
    d1,
    sql`UPDATE webhooks SET lease_until = ${until} WHERE id = ${id} AND enabled = 1
      AND (lease_until IS NULL OR lease_until < ${now}) AND (next_attempt_at IS NULL OR next_attempt_at <= ${now})
      RETURNING id, url, types, sealed_secret AS sealedSecret, cursor, failing_since AS failingSince, attempts`
  )
  return (rows![0] as WebhookRow | undefined) ?? null
}

/**
 * Gives the lease back; says whether the feed has moved past the cursor meanwhile, read in the same
 * statement, so an event written while the deliverer finished is never left waiting for a wake-up.
 */
export async function releaseLease(d1: D1Database, id: string): Promise<boolean> {
  const [rows] = await readBatch<{ behind: number }>(
    d1,
    sql`UPDATE webhooks SET lease_until = NULL WHERE id = ${id}
      RETURNING enabled = 1 AND next_attempt_at IS NULL AND cursor < (SELECT coalesce(max(id), 0) FROM events) AS behind`
  )
  return rows![0]?.behind === 1
}

/** Webhooks with events to deliver now: enabled, behind the feed, not backing off, not held. */
export async function dueWebhooks(d1: D1Database, now: string): Promise<string[]> {
  const [rows] = await readBatch<{ id: string }>(
    d1,
    sql`SELECT id FROM webhooks WHERE enabled = 1 AND cursor < (SELECT coalesce(max(id), 0) FROM events)
      AND (next_attempt_at IS NULL OR next_attempt_at <= ${now}) AND (lease_until IS NULL OR lease_until < ${now})`
  )
  return rows!.map((r) => r.id)
}

export interface Attempt {
  eventId: string
  eventType: string
  status: DeliveryStatus
  responseStatus: number | null
  latencyMs: number
  error: string | null
  attemptedAt: string
}

/**
 * Records an attempt and its consequence in one batch: on success (or a rejection, or a dead
 * letter) the cursor moves past the event and the failure clears; on a failure the cursor stays and
 * the next attempt waits until `retryAt`; `disable` turns the webhook off with its reason.
 */
export async function recordAttempt(
  d1: D1Database,
  id: string,
  a: Attempt,
  outcome: { advanceTo?: number; retryAt?: string; disable?: string }
) {
  const insert = sql`INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status, response_status, latency_ms, error, attempted_at)
    VALUES (${id}, ${a.eventId}, ${a.eventType}, (SELECT attempts + 1 FROM webhooks WHERE id = ${id}), ${a.status}, ${a.responseStatus}, ${a.latencyMs}, ${a.error}, ${a.attemptedAt})`
  const state =
    outcome.advanceTo !== undefined
      ? sql`UPDATE webhooks SET cursor = max(cursor, ${outcome.advanceTo}), attempts = 0, failing_since = NULL, next_attempt_at = NULL,
          last_delivery_at = ${a.attemptedAt}${outcome.disable ? sql`, enabled = 0, disabled_reason = ${outcome.disable}` : sql``} WHERE id = ${id}`
      : sql`UPDATE webhooks SET attempts = attempts + 1, failing_since = coalesce(failing_since, ${a.attemptedAt}),
          next_attempt_at = ${outcome.retryAt ?? null}, last_delivery_at = ${a.attemptedAt}${outcome.disable ? sql`, enabled = 0, disabled_reason = ${outcome.disable}` : sql``}
          WHERE id = ${id}`
  await readBatch(d1, insert, state)
}

/** Moves the cursor over events this webhook does not subscribe to (a filtered page read past them). */
export async function skipTo(d1: D1Database, id: string, cursor: number) {
  await readBatch(d1, sql`UPDATE webhooks SET cursor = max(cursor, ${cursor}) WHERE id = ${id}`)
}

/** A page of a webhook's delivery attempts, newest first. */
export async function listDeliveries(db: Db, id: string, limit: number, before: number | undefined) {
  await getWebhook(db, id)
  const [rows] = await db.batch([
    db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhookId, id), before === undefined ? undefined : lt(webhookDeliveries.id, before)))
      .orderBy(desc(webhookDeliveries.id))
      .limit(limit + 1),
  ])
  const page = rows.slice(0, limit)
  return {
    data: page.map(({ webhookId: _w, ...d }) => d),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  }
}

/** Drops delivery records older than the feed keeps events, a bounded batch at a time. */
export async function pruneDeliveries(d1: D1Database, retentionDays: number, now = Date.now(), batch = 5000, rounds = 20) {
  const cutoff = new Date(now - retentionDays * 86_400_000).toISOString()
  let removed = 0
  for (let i = 0; i < rounds; i++) {
    const [gone] = await readBatch<{ id: number }>(
      d1,
      sql`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE attempted_at < ${cutoff} LIMIT ${batch}) RETURNING id`
    )
    removed += gone!.length
    if (gone!.length < batch) break
  }
  return removed
}

/** Records a test ping's attempt; the webhook's cursor and failure state are not the ping's to change. */
export async function recordTest(d1: D1Database, id: string, a: Attempt) {
  await readBatch(
    d1,
    sql`INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status, response_status, latency_ms, error, attempted_at)
      VALUES (${id}, ${a.eventId}, ${a.eventType}, 1, ${a.status}, ${a.responseStatus}, ${a.latencyMs}, ${a.error}, ${a.attemptedAt})`
  )
}
