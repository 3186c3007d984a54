import { and, eq, sql, type SQL } from 'drizzle-orm'
import { notFound, uniqueness } from '../scim/errors'
import { isObject, type ScimObject } from '../scim/resource'
import { foldDocument } from '../scim/fold'
import { USER_RESOURCE } from '../scim/schemas/registry'
import { chunks, foldKey, isUniqueViolation, nowIso } from './db'
import type { FilterTarget } from './filter-sql'
import { listRows, type ListSpec } from './list'
import { toStored, untilGuardHolds, type Page, type Reference, type UserRecord } from './records'
import { removeUsers } from './lifecycle'
import { memberDisplay, touchGroupsListing } from './memberships'
import { groupMembers, userEmails, users, type UserRow } from './schema'
import { columnList, type DirectorySession } from './session'

const userFilterTarget = (integrationId: string): FilterTarget => ({
  rt: USER_RESOURCE,
  data: sql`${users.data}`,
  dataKey: sql`${users.dataKey}`,
  columns: {
    id: { expr: sql`${users.id}`, notNull: true },
    username: { expr: sql`${users.userNameKey}`, folded: true, notNull: true },
    externalid: { expr: sql`${users.externalId}` },
    displayname: {
      expr: sql`${users.displayName}`,
      foldedExpr: sql`coalesce(json_extract(${users.dataKey}, '$.displayName'), lower(${users.displayName}))`,
    },
    active: { expr: sql`${users.active}`, notNull: true },
    'meta.created': { expr: sql`${users.createdAt}`, notNull: true },
    'meta.lastmodified': { expr: sql`${users.updatedAt}`, notNull: true },
  },
  collections: {
    emails: {
      columns: { value: { expr: sql`${userEmails.valueKey}`, folded: true }, type: { expr: sql`${userEmails.typeKey}`, folded: true } },
      seekable: ['value'],
      membership: (inner) =>
        sql`${users.id} IN (SELECT ${userEmails.userId} FROM ${userEmails} WHERE ${userEmails.integrationId} = ${integrationId} AND ${inner})`,
      correlated: (inner) => sql`EXISTS (SELECT 1 FROM ${userEmails} WHERE ${userEmails.userId} = ${users.id} AND ${inner})`,
    },
    groups: {
      columns: { value: { expr: sql`${groupMembers.groupId}` } },
      seekable: ['value'],
      membership: (inner) => sql`${users.id} IN (SELECT ${groupMembers.memberId} FROM ${groupMembers} WHERE ${inner})`,
      correlated: (inner) => sql`EXISTS (SELECT 1 FROM ${groupMembers} WHERE ${groupMembers.memberId} = ${users.id} AND ${inner})`,
    },
  },
})

/** The columns a user document is indexed by. */
export function columnsOf(doc: ScimObject) {
  const userName = doc.userName as string
  return {
    userName,
    userNameKey: foldKey(userName),
    externalId: (doc.externalId as string | undefined) ?? null,
    displayName: (doc.displayName as string | undefined) ?? null,
    active: doc.active !== false,
    data: JSON.stringify(doc),
    dataKey: JSON.stringify(foldDocument(USER_RESOURCE, doc)),
    // A user written whole again (a SCIM re-create, the source listing it again) is no longer hidden.
    deletedAt: null,
  }
}

/** One row per email value, for the email index. */
export function emailRows(integrationId: string, userId: string, doc: ScimObject) {
  const emails = Array.isArray(doc.emails) ? (doc.emails as unknown[]) : []
  return emails.flatMap((e, position) =>
    isObject(e) && typeof e.value === 'string'
      ? [{ userId, integrationId, position, valueKey: foldKey(e.value), typeKey: typeof e.type === 'string' ? foldKey(e.type) : null }]
      : []
  )
}

const USER_COLUMNS = columnList(users)

/**
 * A user's groups as a JSON array, read in the same statement as the user (a correlated subquery on
 * the membership index), so a user with its groups, or a page of them, is one statement.
 */
const GROUPS_JSON = sql.raw(`(SELECT json_group_array(json_object('value', g.id, 'display', g.display_name)) FROM (
  SELECT gr.id, gr.display_name FROM group_members AS gm JOIN groups AS gr ON gr.id = gm.group_id
  WHERE gm.member_id = "users"."id" ORDER BY gr.id) AS g)`)

type UserSelectRow = UserRow & { groups: string | null; sortKey: string | number | null }

const selectUsers = (withGroups: boolean, where: SQL, tail: SQL = sql``, key: SQL = sql`NULL`) =>
  sql`SELECT ${USER_COLUMNS}, ${withGroups ? GROUPS_JSON : sql`NULL`} AS "groups", ${key} AS "sortKey" FROM ${users} WHERE ${where} ${tail}`

const toUserRecord = (row: UserSelectRow): UserRecord => ({
  ...toStored(row),
  ...(row.groups !== null ? { groups: JSON.parse(row.groups) as Reference[] } : {}),
})

const ofIntegration = (s: DirectorySession) => sql`${users.integrationId} = ${s.integrationId}`
/** What SCIM sees: the integration's users but those removed and kept only for their devices. */
export const inIntegration = (s: DirectorySession) => sql`${ofIntegration(s)} AND ${users.deletedAt} IS NULL`
const byId = (s: DirectorySession, id: string, hidden = false) =>
  sql`${hidden ? ofIntegration(s) : inIntegration(s)} AND ${users.id} = ${id}`
const userNameTaken = (userName: string) => uniqueness(`A user with userName "${userName}" already exists in this integration.`)

/** One user, with its groups when asked for: one statement after the caller check, one round trip. */
export async function getUser(s: DirectorySession, id: string, withGroups: boolean, hidden = false): Promise<UserRecord | undefined> {
  const [rows] = await s.read<UserSelectRow>(selectUsers(withGroups, byId(s, id, hidden)))
  return rows![0] && toUserRecord(rows![0])
}

/** A page of users: filtered, sorted (by id unless asked), by index or by cursor; usually one round trip. */
export async function listUsers(s: DirectorySession, spec: ListSpec, withGroups: boolean): Promise<Page<UserRecord>> {
  const {
    rows,
    extras: _extras,
    ...page
  } = await listRows<UserSelectRow>(
    s,
    {
      target: userFilterTarget(s.integrationId),
      id: sql`${users.id}`,
      scope: inIntegration(s),
      table: sql`${users}`,
      select: (where, tail, key) => selectUsers(withGroups, where, tail, key),
      // The trigger-maintained counters, read with the caller check.
      unfilteredTotal: (session) => session.counters!.activeUsers + session.counters!.archivedUsers - session.counters!.hiddenUsers,
    },
    spec
  )
  return { ...page, items: rows.map(toUserRecord) }
}

/**
 * Creates a user; `doc` has been validated by the SCIM layer. userName is unique per integration: a
 * POST for the userName of an archived user restores that user, keeping its id (Okta's re-assign,
 * a re-hire), as does one for a user deleted but kept for its devices; an active one is a 409, so a
 * retried POST never makes a second user.
 */
export async function createUser(s: DirectorySession, doc: ScimObject): Promise<{ user: UserRecord; restored: boolean }> {
  const cols = columnsOf(doc)
  const [existing] = await s.read<{ id: string; active: number }>(
    sql`SELECT ${users.id} AS id, ${users.active} AS active FROM ${users} WHERE ${ofIntegration(s)} AND ${users.userNameKey} = ${cols.userNameKey}`
  )
  const match = existing![0]
  if (match && match.active) throw userNameTaken(cols.userName)
  if (match) {
    const user = await updateUser(
      s,
      match.id,
      (current) => {
        if (current.doc.active !== false) throw userNameTaken(cols.userName)
        return doc
      },
      true
    )
    return { user, restored: true }
  }
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
  return { user: { id, doc, version: 1, created: now, lastModified: now, groups: [] }, restored: false }
}

/**
 * Read-modify-write of one user, atomic and guarded by its version: `compute` gets the current
 * user and returns the next document, or undefined to leave it unchanged. If another writer got
 * in between, it runs again on the fresh state.
 */
export async function updateUser(
  s: DirectorySession,
  id: string,
  compute: (current: UserRecord) => ScimObject | undefined,
  /** Also a user hidden from SCIM (removed, kept for its devices): createUser's restore. */
  hidden = false
): Promise<UserRecord> {
  return untilGuardHolds(`User "${id}"`, async () => {
    const current = await getUser(s, id, true, hidden)
    if (!current) throw notFound(`No user with id "${id}" in this integration.`)
    const doc = compute(current)
    if (!doc) return current
    const cols = columnsOf(doc)
    const now = nowIso()
    const sameVersion = and(eq(users.id, id), eq(users.version, current.version))
    const guarded = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${sameVersion})`
    const renamed = memberDisplay(doc) !== memberDisplay(current.doc)
    // Statements guarded by the version read above run first; the version bump runs last and
    // reports whether the guard held. One batch is one transaction, so nobody writes in between.
    try {
      const results = await s.write(
        ...(renamed ? touchGroupsListing([id], now, guarded) : []),
        s.db.delete(userEmails).where(and(eq(userEmails.userId, id), sql`EXISTS (SELECT 1 FROM ${users} WHERE ${sameVersion})`)),
        // INSERT … SELECT from the user's own row: the version check is the SELECT's WHERE.
        ...emailRows(s.integrationId, id, doc).map((e) =>
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
              .where(sameVersion)
          )
        ),
        s.db
          .update(users)
          .set({ ...cols, version: current.version + 1, updatedAt: now })
          .where(and(eq(users.integrationId, s.integrationId), sameVersion))
          .returning({ version: users.version })
      )
      if (results[results.length - 1]!.length === 1)
        return { id, doc, version: current.version + 1, created: current.created, lastModified: now, groups: current.groups }
    } catch (e) {
      if (isUniqueViolation(e)) throw userNameTaken(cols.userName)
      throw e
    }
    return undefined
  })
}

/**
 * Deletes a user, its email index rows and its group memberships, in one transaction, guarded by the
 * version `precondition` accepted (it may throw, e.g. for If-Match).
 */
export async function deleteUser(s: DirectorySession, id: string, precondition: (version: number) => void = () => {}): Promise<void> {
  await untilGuardHolds(`User "${id}"`, async () => {
    const [found] = await s.read<{ version: number }>(sql`SELECT ${users.version} AS version FROM ${users} WHERE ${byId(s, id)}`)
    const version = found![0]?.version
    if (version === undefined) throw notFound(`No user with id "${id}" in this integration.`)
    precondition(version)
    const sameVersion = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${id} AND ${users.version} = ${version})`
    const results = await s.write(...removeUsers(s, [id], nowIso(), sameVersion))
    // true once the guarded statements removed or kept the user; undefined sends untilGuardHolds round again.
    return results.slice(-3).some((rows) => rows.length === 1) ? true : undefined
  })
}
