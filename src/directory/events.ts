import { sql, type SQL } from 'drizzle-orm'
import * as z from 'zod'
import { clientError, invalidValue } from '../scim/errors'
import { readBatch } from './session'

/*
 * The change feed: reads of the outbox the triggers of migration 0016 write, and its retention.
 * Ids are the cursor: they increase in commit order, so "after id N" is a stable position and
 * reading it twice gives the same events.
 */

export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.archived',
  'user.restored',
  'user.deleted',
  'user.detached',
  'group.created',
  'group.updated',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
  'device.assigned',
  'device.unassigned',
  'integration.created',
  'integration.deleted',
  'sync.completed',
  'sync.failed',
] as const

export const eventTypeSchema = z.enum(EVENT_TYPES)
export type EventType = z.infer<typeof eventTypeSchema>

export interface FeedEvent {
  id: string
  type: EventType
  occurredAt: string
  integrationId: string | null
  data: unknown
}

export interface FeedQuery {
  /** Events after this id; undefined: from the oldest kept; 'latest': none, only the current position. */
  after?: number | 'latest'
  limit: number
  types?: EventType[]
  integrationId?: string
}

/**
 * With a types or integrationId filter, a page reads at most this many ids past its cursor (WINDOW × limit, at least
 * MIN_WINDOW), so a rare type costs a bounded read per page, never a scan of the whole feed; the
 * cursor then moves to the end of what was read, and `hasMore` says to ask again.
 */
const WINDOW = 10
const MIN_WINDOW = 1000

const stale = (after: number, prunedThrough: number) =>
  clientError(
    410,
    `cursor: events up to ${prunedThrough} were removed after the retention period (EVENTS_RETENTION_DAYS), and this cursor (${after}) is older. ` +
      'Take a new cursor with GET /api/v1/events?after=latest, re-list users and groups through /api/v1/users and /api/v1/groups, then follow the feed from that cursor.'
  )

/** A page of the feed: one round trip, O(page) rows read (O(window) with a types filter). */
export async function listEvents(d1: D1Database, q: FeedQuery) {
  const state = sql`SELECT pruned_through AS prunedThrough, (SELECT coalesce(max(id), 0) FROM events) AS head FROM feed_state WHERE id = 1`
  if (q.after === 'latest') {
    const [rows] = await readBatch<{ prunedThrough: number; head: number }>(d1, state)
    return { data: [] as FeedEvent[], nextCursor: String(rows![0]!.head), hasMore: false }
  }
  const after = q.after ?? 0
  const where: SQL[] = [sql`id > ${after}`]
  // Neither filter has an index (an index would cost a row written per event): both read a window.
  const windowEnd = q.types || q.integrationId !== undefined ? after + Math.max(MIN_WINDOW, WINDOW * q.limit) : undefined
  if (windowEnd !== undefined) where.push(sql`id <= ${windowEnd}`)
  if (q.integrationId !== undefined) where.push(sql`integration_id = ${q.integrationId}`)
  if (q.types) where.push(sql`type IN (SELECT value FROM json_each(${JSON.stringify(q.types)}))`)
  const [positions, rows] = await readBatch(
    d1,
    state,
    sql`SELECT id, type, occurred_at AS occurredAt, integration_id AS integrationId, data FROM events
      WHERE ${sql.join(where, sql` AND `)} ORDER BY id LIMIT ${q.limit}`
  )
  const { prunedThrough, head } = positions![0] as { prunedThrough: number; head: number }
  // A cursor of 0 (or none) means "from the oldest kept": only a real position can have gone stale.
  if (q.after !== undefined && q.after !== 0 && after < prunedThrough) throw stale(after, prunedThrough)
  const page = rows as { id: number; type: EventType; occurredAt: string; integrationId: string | null; data: string }[]
  const full = page.length === q.limit
  // Where this read got to: the last event when the page is full, else all it scanned (up to the
  // window's end or the feed's head, both read in the same transaction).
  const reached = full ? page[page.length - 1]!.id : Math.min(windowEnd ?? head, head)
  return {
    data: page.map((e): FeedEvent => ({ ...e, id: String(e.id), data: JSON.parse(e.data) as unknown })),
    nextCursor: String(Math.max(reached, after)),
    hasMore: full || reached < head,
  }
}

/** Parses a cursor this API gave out (a decimal id) or "latest". */
export function parseCursor(raw: string | undefined): number | 'latest' | undefined {
  if (raw === undefined) return undefined
  if (raw === 'latest') return 'latest'
  if (!/^\d{1,15}$/.test(raw)) throw invalidValue('after: must be a cursor from this feed (a nextCursor), or "latest".')
  return Number(raw)
}

/**
 * Removes events older than `retentionDays`, oldest first, at most `batch` × `rounds` of them, and
 * records the highest id removed, so a cursor before it answers 410 rather than skipping silently.
 */
export async function pruneEvents(d1: D1Database, retentionDays: number, now = Date.now(), batch = 5000, rounds = 20) {
  const cutoff = new Date(now - retentionDays * 86_400_000).toISOString()
  let removed = 0
  // Everything below the boundary goes: the oldest `batch` ids are the candidates (ids are in time
  // order), up to the first of them still within retention (clock skew stops the prune there
  // rather than leaving a hole behind the watermark). Both statements compute it in one transaction.
  const oldest = sql`SELECT id, occurred_at FROM events ORDER BY id LIMIT ${batch}`
  const boundary = sql`coalesce((SELECT min(id) FROM (${oldest}) WHERE occurred_at >= ${cutoff}), (SELECT max(id) + 1 FROM (${oldest})))`
  for (let i = 0; i < rounds; i++) {
    const [deleted] = await readBatch<{ id: number }>(
      d1,
      // Never the newest event: the next id is max + 1, so the max must stay for ids never to repeat.
      sql`DELETE FROM events WHERE id < ${boundary} AND id < (SELECT max(id) FROM events) RETURNING id`,
      // Everything below the oldest event left is gone (ids are only ever removed by this prune).
      sql`UPDATE feed_state SET pruned_through = max(pruned_through, coalesce((SELECT min(id) FROM events) - 1, 0)) WHERE id = 1`
    )
    removed += deleted!.length
    if (deleted!.length < batch) break
  }
  return removed
}

/**
 * The newest events about one user or group, among the newest `window` of the feed: the console's
 * "recent events". The feed has no index by resource (it would cost a row per event), so the read
 * is bounded by the window rather than by the resource.
 */
export async function recentEventsAbout(d1: D1Database, resourceId: string, limit = 20, window = 2000): Promise<FeedEvent[]> {
  const [rows] = await readBatch<{ id: number; type: EventType; occurredAt: string; integrationId: string | null; data: string }>(
    d1,
    sql`SELECT id, type, occurred_at AS occurredAt, integration_id AS integrationId, data FROM events
      WHERE id > (SELECT coalesce(max(id), 0) FROM events) - ${window}
        AND ${resourceId} IN (json_extract(data, '$.id'), json_extract(data, '$.userId'), json_extract(data, '$.groupId'))
      ORDER BY id DESC LIMIT ${limit}`
  )
  return rows!.map((e) => ({ ...e, id: String(e.id), data: JSON.parse(e.data) as unknown }))
}
