import { eq, sql, type Query, type SQL } from 'drizzle-orm'
import { conflict, notFound, uniqueness } from '../scim/errors'
import { isObject, type ScimObject } from '../scim/resource'
import { foldDocument } from '../scim/fold'
import { USER_RESOURCE } from '../scim/schemas/registry'
import { foldKey, isUniqueViolation, nowIso } from './db'
import type { FilterTarget } from './filter-sql'
import { listRows, type ListSpec } from './list'
import { toStored, untilGuardHolds, WRITE_ATTEMPTS, type Page, type Reference, type UserRecord } from './records'
import { removeUsers } from './lifecycle'
import { forgetUser, recalledUser, rememberUser } from './recent'
import { memberDisplay, touchGroupsListing } from './memberships'
import { groupMembers, userEmails, users, type UserRow } from './schema'
import { guard } from './guards'
import { builder, prepared } from './prepared'
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

/*
 * The write statements, rendered once (src/directory/prepared.ts): what columnsOf gives, the id,
 * the integration and the time are placeholders. Email rows go in as one JSON array, so any number
 * of them is one statement with one bound value.
 */
const p = sql.placeholder
/** A placeholder where drizzle's builders take a value. */
const v = (name: string) => sql`${p(name)}`
type Columns = keyof ReturnType<typeof columnsOf>
const documentColumns = Object.fromEntries(
  (['userName', 'userNameKey', 'externalId', 'displayName', 'active', 'data', 'dataKey', 'deletedAt'] satisfies Columns[]).map((k) => [
    k,
    v(k),
  ])
) as Record<Columns, SQL>
const insertUser = prepared<Columns | 'id' | 'integrationId' | 'now'>(() =>
  builder
    .insert(users)
    .values({ id: v('id'), integrationId: v('integrationId'), ...documentColumns, version: 1, createdAt: v('now'), updatedAt: v('now') })
)
/*
 * An update sets only the columns that changed: SQLite rewrites the entry of every index on a column
 * the statement sets, changed or not, and D1 counts each (a title PATCH wrote 9 rows, now 5). One
 * statement per set of columns, rendered once; deleted_at is always set (a restore clears it, and
 * no index holds it).
 */
const updateRows = new Map<string, (values: Record<string, unknown>) => Query>()
function updateRow(changed: Columns[]) {
  const key = changed.join()
  let statement = updateRows.get(key)
  if (!statement) {
    const set = Object.fromEntries(changed.map((k) => [k, documentColumns[k]]))
    statement = prepared(() =>
      builder
        .update(users)
        .set({ ...set, deletedAt: null, version: v('version'), updatedAt: v('now') })
        .where(eq(users.id, p('id')))
    )
    updateRows.set(key, statement)
  }
  return statement
}
const insertEmails = prepared<'rows'>(
  () => sql`INSERT INTO ${userEmails} (user_id, integration_id, position, value_key, type_key)
    SELECT value ->> '$.userId', value ->> '$.integrationId', value ->> '$.position', value ->> '$.valueKey', value ->> '$.typeKey'
    FROM json_each(${p('rows')})`
)
const deleteEmails = prepared<'id'>(() => sql`DELETE FROM ${userEmails} WHERE ${userEmails.userId} = ${p('id')}`)
const sameVersion = sql`${users.integrationId} = ${p('integrationId')} AND ${users.id} = ${p('id')} AND ${users.version} = ${p('version')}`
const unchanged = guard<'integrationId' | 'id' | 'version'>(
  'stale',
  sql`EXISTS (SELECT 1 FROM ${users} WHERE ${sameVersion} AND ${users.deletedAt} IS NULL)`
)
/** createUser's restore, which may start from a user hidden from SCIM. */
const unchangedOrHidden = guard<'integrationId' | 'id' | 'version'>('stale', sql`EXISTS (SELECT 1 FROM ${users} WHERE ${sameVersion})`)

const changedColumns = (before: ReturnType<typeof columnsOf>, after: ReturnType<typeof columnsOf>) =>
  (Object.keys(after) as Columns[]).filter((k) => k !== 'deletedAt' && after[k] !== before[k])

/** Binds a user's document columns; `active` as SQLite stores it. */
const bindColumns = (cols: ReturnType<typeof columnsOf>) => ({ ...cols, active: cols.active ? 1 : 0 })
const emailStatements = (rows: ReturnType<typeof emailRows>) => (rows.length > 0 ? [insertEmails({ rows: JSON.stringify(rows) })] : [])

/**
 * A user's groups as a JSON array, read in the same statement as the user (a correlated subquery on
 * the membership index), so a user with its groups, or a page of them, is one statement.
 */
const GROUPS_JSON = sql.raw(`(SELECT json_group_array(json_object('value', g.id, 'display', g.display_name)) FROM (
  SELECT gr.id, gr.display_name FROM group_members AS gm JOIN groups AS gr ON gr.id = gm.group_id
  WHERE gm.member_id = "users"."id" ORDER BY gr.id) AS g)`)

/** A user's groups as they are now, after a write in the same batch: membership changes do not move a user's version. */
const groupsOf = prepared<'id'>(() => sql`SELECT ${GROUPS_JSON} AS "groups" FROM ${users} WHERE ${users.id} = ${p('id')}`)

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
  const row = rows![0]
  if (!row) return undefined
  const user = toUserRecord(row)
  // A hidden user (kept for its devices) is no starting point for a SCIM write, which cannot see it.
  if (!hidden || row.deletedAt === null) remember(s, user, row.data.length)
  return user
}

const remember = (s: DirectorySession, { groups: _groups, ...user }: UserRecord, bytes: number) =>
  rememberUser(s.integrationId, user, bytes)

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
  const items = rows.map(toUserRecord)
  items.forEach((user, i) => remember(s, user, rows[i]!.data.length))
  return { ...page, items }
}

/**
 * Creates a user; `doc` has been validated by the SCIM layer. userName is unique per integration: a
 * POST for the userName of an archived user restores that user, keeping its id (Okta's re-assign,
 * a re-hire), as does one for a user deleted but kept for its devices; an active one is a 409, so a
 * retried POST never makes a second user. One round trip: the insert is the uniqueness check (the
 * users_user_name index); only a userName already taken costs a read, to tell a restore from a 409.
 */
export async function createUser(s: DirectorySession, doc: ScimObject): Promise<{ user: UserRecord; restored: boolean }> {
  const cols = columnsOf(doc)
  const id = crypto.randomUUID()
  const now = nowIso()
  try {
    await s.change(
      [],
      insertUser({ ...bindColumns(cols), id, integrationId: s.integrationId, now }),
      ...emailStatements(emailRows(s.integrationId, id, doc))
    )
    const user = { id, doc, version: 1, created: now, lastModified: now, groups: [] }
    remember(s, user, cols.data.length)
    return { user, restored: false }
  } catch (e) {
    if (!isUniqueViolation(e)) throw e
  }
  const [existing] = await s.read<{ id: string; active: number }>(
    sql`SELECT ${users.id} AS id, ${users.active} AS active FROM ${users} WHERE ${ofIntegration(s)} AND ${users.userNameKey} = ${cols.userNameKey}`
  )
  const match = existing![0]
  // Gone again since the insert failed: the client's retry will create it.
  if (!match) throw conflict(`The user with userName "${cols.userName}" changed while this request was written; retry it.`)
  if (match.active) throw userNameTaken(cols.userName)
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

/**
 * Read-modify-write of one user, atomic and guarded by its version: `compute` gets the current
 * user and returns the next document, or undefined to leave it unchanged. The first attempt starts
 * from what this isolate last saw of the user (src/directory/recent.ts), when it has it and
 * `recall` allows: then the write is the only round trip. If the version moved in between (another
 * writer, or a stale copy), it runs again on the state read fresh.
 */
export async function updateUser(
  s: DirectorySession,
  id: string,
  compute: (current: UserRecord) => ScimObject | undefined,
  /** Also a user hidden from SCIM (removed, kept for its devices): createUser's restore. */
  hidden = false,
  /** False when `compute` judges the version itself (If-Match), which only a fresh read may answer. */
  recall = !hidden
): Promise<UserRecord> {
  let recalled = recall ? recalledUser(s.integrationId, id) : undefined
  // A try from a copy that turns out stale does not count against the tries from the stored user.
  const attempts = WRITE_ATTEMPTS + (recalled ? 1 : 0)
  return untilGuardHolds(
    `User "${id}"`,
    async () => {
      const copy = recalled
      recalled = undefined
      let current: UserRecord | undefined = copy
      let doc: ScimObject | undefined
      // An error or a no-op on a copy may be the copy's: only the stored user decides those.
      try {
        doc = copy && compute(copy)
      } catch {
        doc = undefined
      }
      if (!doc) {
        current = await getUser(s, id, true, hidden)
        if (!current) throw notFound(`No user with id "${id}" in this integration.`)
        doc = compute(current)
        if (!doc) return current
      }
      const from = current!
      const cols = columnsOf(doc)
      const now = nowIso()
      const renamed = memberDisplay(doc) !== memberDisplay(from.doc)
      const emails = emailRows(s.integrationId, id, doc)
      // Each email row is two rows written (the row and its value index), twice over to rewrite it.
      const emailsChanged = JSON.stringify(emails) !== JSON.stringify(emailRows(s.integrationId, id, from.doc))
      try {
        // Nobody writes between the guard and these statements: one batch is one transaction.
        const changed = await s.change(
          [(hidden ? unchangedOrHidden : unchanged)({ integrationId: s.integrationId, id, version: from.version })],
          ...(renamed ? touchGroupsListing([id], now) : []),
          ...(emailsChanged ? [deleteEmails({ id }), ...emailStatements(emails)] : []),
          updateRow(changedColumns(columnsOf(from.doc), cols))({ ...bindColumns(cols), id, version: from.version + 1, now }),
          groupsOf({ id })
        )
        if (!changed.rows) return undefined
        const groups = JSON.parse((changed.rows.at(-1)![0] as { groups: string }).groups) as Reference[]
        const user = { id, doc, version: from.version + 1, created: from.created, lastModified: now, groups }
        remember(s, user, cols.data.length)
        return user
      } catch (e) {
        if (isUniqueViolation(e)) throw userNameTaken(cols.userName)
        throw e
      }
    },
    attempts
  )
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
    forgetUser(s.integrationId, id)
    // true once the guarded statements removed or kept the user; undefined sends untilGuardHolds round again.
    return results.slice(-3).some((rows) => rows.length === 1) ? true : undefined
  })
}
