import { and, asc, count, eq, sql, type SQL } from 'drizzle-orm'
import { conflict, notFound, uniqueness } from '../scim/errors'
import type { Filter } from '../scim/filter/ast'
import { isObject, type ScimObject } from '../scim/resource'
import { USER_RESOURCE } from '../scim/schemas/registry'
import { chunks, foldKey, isUniqueViolation, nowIso } from './db'
import { compileFilter, type FilterTarget } from './filter-sql'
import { groupBy, toStored, WRITE_ATTEMPTS, type Page, type PageRequest, type UserRecord } from './records'
import { groupMembers, groups, userEmails, users, type UserRow } from './schema'
import type { DirectorySession } from './session'

const userFilterTarget = (integrationId: string): FilterTarget => ({
  rt: USER_RESOURCE,
  data: sql`${users.data}`,
  columns: {
    id: { expr: sql`${users.id}` },
    username: { expr: sql`${users.userNameKey}`, folded: true },
    externalid: { expr: sql`${users.externalId}` },
    displayname: { expr: sql`${users.displayName}` },
    active: { expr: sql`${users.active}` },
    'meta.created': { expr: sql`${users.createdAt}` },
    'meta.lastmodified': { expr: sql`${users.updatedAt}` },
  },
  collections: {
    emails: {
      columns: { value: { expr: sql`${userEmails.valueKey}`, folded: true }, type: { expr: sql`${userEmails.typeKey}`, folded: true } },
      membership: (inner) =>
        sql`${users.id} IN (SELECT ${userEmails.userId} FROM ${userEmails} WHERE ${userEmails.integrationId} = ${integrationId} AND ${inner})`,
    },
    groups: {
      columns: { value: { expr: sql`${groupMembers.groupId}` } },
      membership: (inner) => sql`${users.id} IN (SELECT ${groupMembers.memberId} FROM ${groupMembers} WHERE ${inner})`,
    },
  },
})

/** The columns a user document is indexed by. */
function columnsOf(doc: ScimObject) {
  const userName = doc.userName as string
  return {
    userName,
    userNameKey: foldKey(userName),
    externalId: (doc.externalId as string | undefined) ?? null,
    displayName: (doc.displayName as string | undefined) ?? null,
    active: doc.active !== false,
    data: JSON.stringify(doc),
  }
}

function emailRows(integrationId: string, userId: string, doc: ScimObject) {
  const emails = Array.isArray(doc.emails) ? (doc.emails as unknown[]) : []
  return emails.flatMap((e, position) =>
    isObject(e) && typeof e.value === 'string'
      ? [{ userId, integrationId, position, valueKey: foldKey(e.value), typeKey: typeof e.type === 'string' ? foldKey(e.type) : null }]
      : []
  )
}

function groupsOfQuery(s: DirectorySession, memberIds: SQL) {
  return s.db
    .select({ owner: groupMembers.memberId, value: groups.id, display: groups.displayName })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .where(sql`${groupMembers.memberId} IN ${memberIds}`)
    .orderBy(asc(groups.id))
}

const byId = (s: DirectorySession, id: string) => and(eq(users.integrationId, s.integrationId), eq(users.id, id))
const userNameTaken = (userName: string) => uniqueness(`A user with userName "${userName}" already exists in this integration.`)

/** One user, with its groups when asked for: a single D1 round trip. */
export async function getUser(s: DirectorySession, id: string, withGroups: boolean): Promise<UserRecord | undefined> {
  const row = s.db.select().from(users).where(byId(s, id))
  if (!withGroups) {
    const [rows] = await s.read(row)
    return rows[0] && toStored(rows[0])
  }
  const [rows, memberships] = await s.read(row, groupsOfQuery(s, sql`(${id})`))
  return rows[0] && { ...toStored(rows[0]), groups: memberships.map(({ value, display }) => ({ value, display })) }
}

/** A page of users in a stable order (by id), with totalResults, in one D1 round trip. */
export async function listUsers(
  s: DirectorySession,
  filter: Filter | undefined,
  page: PageRequest,
  withGroups: boolean
): Promise<Page<UserRecord>> {
  const where = and(eq(users.integrationId, s.integrationId), filter ? compileFilter(filter, userFilterTarget(s.integrationId)) : undefined)
  const pageIds = s.db.select({ id: users.id }).from(users).where(where).orderBy(asc(users.id)).limit(page.count).offset(page.startIndex - 1)
  const rowsQuery = s.db.select().from(users).where(where).orderBy(asc(users.id)).limit(page.count).offset(page.startIndex - 1)
  const totalQuery = filter ? s.db.select({ n: count() }).from(users).where(where) : undefined
  const groupsQuery = withGroups ? groupsOfQuery(s, sql`(${pageIds})`) : undefined
  const [rows, ...rest] = (await s.read(rowsQuery, ...[totalQuery, groupsQuery].filter((q) => q !== undefined))) as [
    UserRow[],
    ...unknown[],
  ]
  // Unfiltered totals come from the trigger-maintained counters read with the caller check.
  const total = totalQuery ? ((rest.shift() as { n: number }[])[0]?.n ?? 0) : s.counters!.activeUsers + s.counters!.archivedUsers
  const byUser = groupsQuery ? groupBy(rest.shift() as { owner: string; value: string; display: string }[], ({ value, display }) => ({ value, display })) : undefined
  return {
    total,
    items: rows.map((r) => ({ ...toStored(r), ...(byUser ? { groups: byUser.get(r.id) ?? [] } : {}) })),
  }
}

/** Creates a user. `doc` has been validated by the SCIM layer; userName is unique per integration. */
export async function createUser(s: DirectorySession, doc: ScimObject): Promise<UserRecord> {
  const cols = columnsOf(doc)
  const [existing] = await s.read(
    s.db.select({ id: users.id }).from(users).where(and(eq(users.integrationId, s.integrationId), eq(users.userNameKey, cols.userNameKey)))
  )
  if (existing.length > 0) throw userNameTaken(cols.userName)
  const id = crypto.randomUUID()
  const now = nowIso()
  const emails = emailRows(s.integrationId, id, doc)
  try {
    await s.write(
      s.db.insert(users).values({ id, integrationId: s.integrationId, ...cols, version: 1, createdAt: now, updatedAt: now }),
      ...chunks(emails, 15).map((rows) => s.db.insert(userEmails).values(rows))
    )
  } catch (e) {
    if (isUniqueViolation(e)) throw userNameTaken(cols.userName)
    throw e
  }
  return { id, doc, version: 1, created: now, lastModified: now, groups: [] }
}

/**
 * Read-modify-write of one user, atomic and guarded by its version: `compute` gets the current
 * user and returns the next document, or undefined to leave it unchanged. If another writer got
 * in between, it runs again on the fresh state.
 */
export async function updateUser(
  s: DirectorySession,
  id: string,
  compute: (current: UserRecord) => ScimObject | undefined
): Promise<UserRecord> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await getUser(s, id, true)
    if (!current) throw notFound(`No user with id "${id}" in this integration.`)
    const doc = compute(current)
    if (!doc) return current
    const cols = columnsOf(doc)
    const now = nowIso()
    // Statements guarded by the version read above run first; the version bump runs last and
    // reports whether the guard held. One batch is one transaction, so nobody writes in between.
    const guard = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${id} AND ${users.version} = ${current.version})`
    const emails = emailRows(s.integrationId, id, doc)
    try {
      const results = await s.write(
        s.db.delete(userEmails).where(and(eq(userEmails.userId, id), guard)),
        // INSERT … SELECT from the user's own row: the version check is the SELECT's WHERE.
        ...emails.map((e) =>
          s.db.insert(userEmails).select(
            s.db
              .select({
                userId: users.id,
                integrationId: users.integrationId,
                position: sql<number>`${e.position}`.as('position'),
                valueKey: sql<string>`${e.valueKey}`.as('value_key'),
                typeKey: sql<string | null>`${e.typeKey}`.as('type_key'),
              })
              .from(users)
              .where(and(eq(users.id, id), eq(users.version, current.version)))
          )
        ),
        s.db
          .update(users)
          .set({ ...cols, version: current.version + 1, updatedAt: now })
          .where(and(byId(s, id), eq(users.version, current.version)))
          .returning({ version: users.version })
      )
      const bumped = results[results.length - 1] as { version: number }[]
      if (bumped.length === 1) return { id, doc, version: current.version + 1, created: current.created, lastModified: now, groups: current.groups }
    } catch (e) {
      if (isUniqueViolation(e)) throw userNameTaken(cols.userName)
      throw e
    }
  }
  throw conflict(`User "${id}" kept changing while this request tried to update it; retry the request.`)
}

/** Deletes a user, its email index rows and its group memberships, in one transaction. */
export async function deleteUser(s: DirectorySession, id: string): Promise<void> {
  const [found] = await s.read(s.db.select({ id: users.id }).from(users).where(byId(s, id)))
  if (found.length === 0) throw notFound(`No user with id "${id}" in this integration.`)
  await s.write(
    s.db.delete(userEmails).where(eq(userEmails.userId, id)),
    s.db.delete(groupMembers).where(and(eq(groupMembers.memberId, id), eq(groupMembers.integrationId, s.integrationId))),
    s.db.delete(users).where(byId(s, id))
  )
}
