import { sql, type SQL } from 'drizzle-orm'
import * as z from 'zod'
import { fromBase64, toBase64Url } from '../base64url'
import { invalidValue, notFound } from '../scim/errors'
import { readBatch } from './session'

/*
 * The directory as applications see it: the read API and the change feed's event data. A user's and
 * a group's view are SQL views (`user_views`, `group_views`, migration 0016), one definition that
 * both the reads here and the outbox triggers select from, so an event shows exactly what a GET
 * would. SQLite flattens a view into the query, so filters on its columns still seek indexes
 * (test/integration/read-plan.test.ts).
 */

export interface UserView {
  id: string
  integration: { id: string; name: string; kind: string } | null
  status: 'active' | 'archived'
  userName: string
  displayName: string | null
  givenName: string | null
  familyName: string | null
  email: string | null
  title: string | null
  department: string | null
  externalId: string | null
  devices: { id: string; name: string | null; assignedAt: string }[]
  createdAt: string
  updatedAt: string
  archivedAt: string | null
  /** The integration this user was kept from when that integration was deleted; null otherwise. */
  detachedFrom: { id: string; name: string } | null
}

export interface GroupRef {
  id: string
  displayName: string
  externalId: string | null
}

/** One user as applications see it, with its devices: one statement (three index seeks). */
export async function getUserView(d1: D1Database, id: string): Promise<UserView> {
  const [rows] = await readBatch<{ view: string }>(d1, sql`SELECT view FROM user_views WHERE id = ${id}`)
  const row = rows![0]
  if (!row) throw notFound(`No user with id "${id}".`)
  return JSON.parse(row.view) as UserView
}

/**
 * The groups a user is a direct member of, by group id after `after`, at most `limit`. Cost: the
 * user's memberships (the member index), sorted; a user's groups are few next to a directory.
 */
export async function userGroupsPage(d1: D1Database, id: string, limit: number, after: string | undefined) {
  const [found, rows] = await readBatch<GroupRef>(
    d1,
    sql`SELECT id, '' AS displayName, NULL AS externalId FROM users WHERE id = ${id}`,
    sql`SELECT g.id AS id, g.display_name AS displayName, g.external_id AS externalId
      FROM group_members AS gm JOIN groups AS g ON g.id = gm.group_id
      WHERE gm.member_id = ${id} AND g.id > ${after ?? ''} ORDER BY g.id LIMIT ${limit + 1}`
  )
  if (found!.length === 0) throw notFound(`No user with id "${id}".`)
  const more = rows!.length > limit
  const data = rows!.slice(0, limit)
  return { data, nextCursor: more ? data[data.length - 1]!.id : null }
}

export interface UserListQuery {
  integrationId?: string
  status: 'active' | 'archived' | 'all'
  /** ISO time: only users changed at or after it, in order of change (what a syncing client walks). */
  updatedSince?: string
  limit: number
  cursor?: string
}

// A keyset position: the last row's order key (updatedAt when walking by change) and id.
const positionSchema = z.object({ k: z.string().optional(), id: z.string() })
type Position = z.infer<typeof positionSchema>

function decodePosition(cursor: string): Position {
  try {
    return positionSchema.parse(JSON.parse(new TextDecoder().decode(fromBase64(cursor))))
  } catch {
    throw invalidValue('cursor: not one this API gave out; start again without a cursor.')
  }
}

/** The statement behind listUserViews, on its own so tests can check its query plan. */
export function userListStatement(q: UserListQuery): SQL {
  const where: SQL[] = []
  if (q.integrationId !== undefined) where.push(sql`u.integration_id = ${q.integrationId}`)
  if (q.status !== 'all') where.push(sql`u.active = ${q.status === 'active' ? 1 : 0}`)
  const byChange = q.updatedSince !== undefined
  if (byChange) where.push(sql`u.updated_at >= ${q.updatedSince}`)
  const at = q.cursor === undefined ? undefined : decodePosition(q.cursor)
  if (at && byChange !== (at.k !== undefined))
    throw invalidValue('cursor: it belongs to a listing with other parameters; keep them as on the first page.')
  if (at) where.push(byChange ? sql`(u.updated_at, u.id) > (${at.k}, ${at.id})` : sql`u.id > ${at.id}`)
  const order = byChange ? sql`u.updated_at, u.id` : sql`u.id`
  return sql`SELECT u.view AS view, u.updated_at AS k, u.id AS id FROM user_views AS u
      WHERE ${where.length ? sql.join(where, sql` AND `) : sql`1`} ORDER BY ${order} LIMIT ${q.limit + 1}`
}

/**
 * A page of users, in keyset order: by id, or by (updatedAt, id) with `updatedSince`. Every filter
 * combination seeks an index (users_status_order, users_all_status_order, users_last_modified,
 * users_all_updated, users_all_status_updated, the primary key), so a deep page costs a page of rows, never an offset scan. One exception: `updatedSince` with a
 * status inside one integration walks users_last_modified and skips the other status's rows.
 */
export async function listUserViews(d1: D1Database, q: UserListQuery) {
  const byChange = q.updatedSince !== undefined
  const [rows] = await readBatch<{ view: string; k: string; id: string }>(d1, userListStatement(q))
  const page = rows!.slice(0, q.limit)
  const last = page[page.length - 1]
  return {
    data: page.map((r) => JSON.parse(r.view) as UserView),
    nextCursor:
      rows!.length > q.limit && last ? toBase64Url(JSON.stringify(byChange ? { k: last.k, id: last.id } : { id: last.id })) : null,
  }
}
