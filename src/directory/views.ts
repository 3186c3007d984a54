import { sql, type SQL } from 'drizzle-orm'
import * as z from 'zod'
import { fromBase64, toBase64Url } from '../base64url'
import { invalidValue, notFound } from '../scim/errors'
import { foldKey } from './db'
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

export interface GroupView {
  id: string
  integration: { id: string; name: string; kind: string } | null
  displayName: string
  externalId: string | null
  memberCount: number
  createdAt: string
  updatedAt: string
}

/** One user as applications see it, with its devices: one statement (three index seeks). */
export async function getUserView(d1: D1Database, id: string): Promise<UserView> {
  const [rows] = await readBatch<{ view: string }>(d1, sql`SELECT view FROM user_views WHERE id = ${id}`)
  const row = rows![0]
  if (!row) throw notFound(`No user with id "${id}".`)
  return JSON.parse(row.view) as UserView
}

/** One group as applications see it, with its member count: one statement. */
export async function getGroupView(d1: D1Database, id: string): Promise<GroupView> {
  const [rows] = await readBatch<{ view: string }>(d1, sql`SELECT view FROM group_views WHERE id = ${id}`)
  const row = rows![0]
  if (!row) throw notFound(`No group with id "${id}".`)
  return JSON.parse(row.view) as GroupView
}

/*
 * Listings, all in keyset order: a page is one index range from the cursor on, so a deep page
 * costs a page of rows, never an offset scan. Each listing is ordered by id, or by an order key
 * and id (the time of change, a search term); the cursor holds the listing's kind and the last
 * row's position, so a cursor used with other parameters is refused rather than misread. Joins are
 * CROSS JOINs, SQLite's way of fixing the loop order: the listing's index drives, whatever the
 * planner would guess without statistics.
 */

type Order = 'id' | 'change' | 'search' | 'member'

// A keyset position: the listing's order, the last row's order key (if it has one) and id.
const positionSchema = z.object({ o: z.enum(['id', 'change', 'search', 'member']).optional(), k: z.string().optional(), id: z.string() })
type Position = z.infer<typeof positionSchema>

function decodePosition(cursor: string, order: Order): Position {
  let at: Position
  try {
    at = positionSchema.parse(JSON.parse(new TextDecoder().decode(fromBase64(cursor))))
  } catch {
    throw invalidValue('cursor: not one this API gave out; start again without a cursor.')
  }
  // Cursors given out before orders were named: by change when they carry a key.
  if ((at.o ?? (at.k === undefined ? 'id' : 'change')) !== order)
    throw invalidValue('cursor: it belongs to a listing with other parameters; keep them as on the first page.')
  return at
}

interface Listing {
  order: Order
  from: SQL
  where: SQL[]
  /** The order key before the id, if the listing has one. */
  key?: SQL
  id: SQL
  view: SQL
  /**
   * Conditions that split the listing into index ranges, each read in order and merged (a compound
   * SELECT's ORDER BY, which SQLite merges without sorting). Saves an index that would hold the
   * listing's order alone.
   */
  ranges?: SQL[]
}

/** The one statement shape behind every listing; tests check its query plans. */
function pageStatement(l: Listing, cursor: string | undefined, limit: number): SQL {
  const where = [...l.where]
  const at = cursor === undefined ? undefined : decodePosition(cursor, l.order)
  if (at) where.push(l.key ? sql`(${l.key}, ${l.id}) > (${at.k ?? ''}, ${at.id})` : sql`${l.id} > ${at.id}`)
  const select = (conditions: SQL[]) =>
    sql`SELECT ${l.view} AS view, ${l.key ?? sql`NULL`} AS k, ${l.id} AS id FROM ${l.from}
    WHERE ${conditions.length ? sql.join(conditions, sql` AND `) : sql`1`}`
  if (l.ranges)
    return sql`${sql.join(
      l.ranges.map((r) => select([r, ...where])),
      sql` UNION ALL `
    )} ORDER BY k, id LIMIT ${limit + 1}`
  return sql`${select(where)} ORDER BY ${l.key ? sql`${l.key}, ${l.id}` : l.id} LIMIT ${limit + 1}`
}

type PageRow = { view: string; k: string | null; id: string }

function pageOf<T>(order: Order, rows: PageRow[], limit: number) {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  const position: Position = { o: order, id: last?.id ?? '', ...(last?.k == null ? {} : { k: last.k }) }
  return {
    data: page.map((r) => JSON.parse(r.view) as T),
    nextCursor: rows.length > limit && last ? toBase64Url(JSON.stringify(position)) : null,
  }
}

async function runPage<T>(d1: D1Database, order: Order, statement: SQL, limit: number) {
  const [rows] = await readBatch<PageRow>(d1, statement)
  return pageOf<T>(order, rows!, limit)
}

// Every string that starts with the folded prefix p sorts in [p, p + U+10FFFF) under SQLite's binary collation.
const prefixRange = (column: SQL, q: string) => sql`${column} >= ${q} AND ${column} < ${q + '\u{10FFFF}'}`

/**
 * The groups a user is a direct member of, by group id. Cost: the user's memberships (the member
 * index), sorted; a user's groups are few next to a directory.
 */
export async function userGroupsPage(d1: D1Database, id: string, limit: number, cursor: string | undefined) {
  const [found] = await readBatch(d1, sql`SELECT 1 FROM users WHERE id = ${id}`)
  if (found!.length === 0) throw notFound(`No user with id "${id}".`)
  const listing: Listing = {
    order: 'id',
    from: sql`group_members AS gm CROSS JOIN group_views AS g ON g.id = gm.group_id`,
    where: [sql`gm.member_id = ${id}`],
    id: sql`g.id`,
    view: sql`g.view`,
  }
  return runPage<GroupView>(d1, 'id', pageStatement(listing, cursor, limit), limit)
}

export interface UserListQuery {
  integrationId?: string
  status: 'active' | 'archived' | 'all'
  /** ISO time: only users changed at or after it, in order of change (what a syncing client walks). */
  updatedSince?: string
  /** Only the direct members of this group, by user id. */
  groupId?: string
  /** A case-insensitive prefix of userName, an email, displayName, given or family name, by the term matched. */
  q?: string
  limit: number
  cursor?: string
}

function userListing(q: UserListQuery): Listing {
  const where: SQL[] = []
  if (q.integrationId !== undefined) where.push(sql`u.integration_id = ${q.integrationId}`)
  if (q.status !== 'all') where.push(sql`u.active = ${q.status === 'active' ? 1 : 0}`)
  const view = sql`u.view`
  if (q.q !== undefined) {
    const term = foldKey(q.q)
    // Each user once, at its smallest matching term, though several of its fields may match.
    const first = sql`NOT EXISTS (SELECT 1 FROM user_search AS t WHERE t.user_id = s.user_id AND t.term >= ${term} AND t.term < s.term)`
    const inIntegration = q.integrationId === undefined ? [] : [sql`s.integration_id = ${q.integrationId}`]
    return {
      order: 'search',
      from: sql`user_search AS s CROSS JOIN user_views AS u ON u.id = s.user_id`,
      where: [...inIntegration, prefixRange(sql`s.term`, term), ...where, first],
      key: sql`s.term`,
      id: sql`s.user_id`,
      view,
    }
  }
  if (q.groupId !== undefined)
    return {
      order: 'member',
      from: sql`group_members AS gm CROSS JOIN user_views AS u ON u.id = gm.member_id`,
      where: [sql`gm.group_id = ${q.groupId}`, sql`gm.member_type = 'User'`, ...where],
      id: sql`gm.member_id`,
      view,
    }
  if (q.updatedSince !== undefined)
    return {
      order: 'change',
      from: sql`user_views AS u`,
      where: [...where, sql`u.updated_at >= ${q.updatedSince}`],
      key: sql`u.updated_at`,
      id: sql`u.id`,
      view,
      // Across integrations, both statuses: users_all_status_updated's two ranges, merged.
      ...(q.integrationId === undefined && q.status === 'all' ? { ranges: [sql`u.active = 0`, sql`u.active = 1`] } : {}),
    }
  return { order: 'id', from: sql`user_views AS u`, where, id: sql`u.id`, view }
}

/** The statement behind listUserViews, on its own so tests can check its query plan. */
export function userListStatement(q: UserListQuery): SQL {
  if ([q.q, q.groupId, q.updatedSince].filter((x) => x !== undefined).length > 1)
    throw invalidValue('q, groupId and updatedSince: use one of them at a time (each walks its own index).')
  return pageStatement(userListing(q), q.cursor, q.limit)
}

/**
 * A page of users. Every filter seeks an index (test/integration/read-plan.test.ts), so a deep page
 * costs a page of rows: by id; by (updatedAt, id) with `updatedSince`; by user id within a group
 * with `groupId`; by (matched term, id) with `q`. `status` and `integrationId` narrow any of them;
 * where no index holds both (a status with groupId, q or updatedSince in one integration) the rows
 * of the other status are read and skipped.
 */
export async function listUserViews(d1: D1Database, q: UserListQuery) {
  return runPage<UserView>(d1, userListing(q).order, userListStatement(q), q.limit)
}

/**
 * A group's members: its direct members that are users, as /users?groupId= lists them (any status
 * unless one is asked for). 404 for an unknown group, checked in the same batch.
 */
export async function groupMembersPage(d1: D1Database, q: UserListQuery & { groupId: string }) {
  const [found, rows] = await readBatch<PageRow>(
    d1,
    sql`SELECT 1 AS view, NULL AS k, '' AS id FROM groups WHERE id = ${q.groupId}`,
    userListStatement(q)
  )
  if (found!.length === 0) throw notFound(`No group with id "${q.groupId}".`)
  return pageOf<UserView>('member', rows!, q.limit)
}

export interface GroupListQuery {
  integrationId?: string
  updatedSince?: string
  /** A case-insensitive prefix of displayName. */
  q?: string
  limit: number
  cursor?: string
}

/** The statement behind listGroupViews: by id, by (updatedAt, id) or by (displayName, id). */
export function groupListStatement(q: GroupListQuery): SQL {
  if (q.q !== undefined && q.updatedSince !== undefined)
    throw invalidValue('q and updatedSince: use one of them at a time (each walks its own index).')
  const where: SQL[] = q.integrationId === undefined ? [] : [sql`k.integration_id = ${q.integrationId}`]
  const from = sql`groups AS k CROSS JOIN group_views AS g ON g.id = k.id`
  const listing: Listing =
    q.q !== undefined
      ? {
          order: 'search',
          from,
          where: [...where, prefixRange(sql`k.display_name_key`, foldKey(q.q))],
          key: sql`k.display_name_key`,
          id: sql`k.id`,
          view: sql`g.view`,
        }
      : q.updatedSince !== undefined
        ? {
            order: 'change',
            from,
            where: [...where, sql`k.updated_at >= ${q.updatedSince}`],
            key: sql`k.updated_at`,
            id: sql`k.id`,
            view: sql`g.view`,
          }
        : { order: 'id', from, where, id: sql`k.id`, view: sql`g.view` }
  return pageStatement(listing, q.cursor, q.limit)
}

/** A page of groups with their member counts, each filter on an index like the users'. */
export async function listGroupViews(d1: D1Database, q: GroupListQuery) {
  const order: Order = q.q !== undefined ? 'search' : q.updatedSince !== undefined ? 'change' : 'id'
  return runPage<GroupView>(d1, order, groupListStatement(q), q.limit)
}
