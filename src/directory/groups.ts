import { inArray, sql, type SQL } from 'drizzle-orm'
import { invalidValue, notFound, uniqueness } from '../scim/errors'
import type { CollectionChange } from '../scim/patch'
import type { ScimObject } from '../scim/resource'
import { foldDocument } from '../scim/fold'
import { GROUP_RESOURCE } from '../scim/schemas/registry'
import { chunks, foldKey, isUniqueViolation, nowIso } from './db'
import type { FilterTarget } from './filter-sql'
import { listRows, type ListSpec } from './list'
import { groupBy, toStored, untilGuardHolds, type GroupRecord, type Page, type Reference } from './records'
import { removeGroups } from './lifecycle'
import { inIntegration as usersInScope } from './users'
import { touchGroupsListing } from './memberships'
import { groupMembers, groups, users, type GroupRow } from './schema'
import { guard } from './guards'
import { prepared } from './prepared'
import { columnList, type DirectorySession, type Statement } from './session'

const groupFilterTarget = (): FilterTarget => ({
  rt: GROUP_RESOURCE,
  data: sql`${groups.data}`,
  dataKey: sql`${groups.dataKey}`,
  columns: {
    id: { expr: sql`${groups.id}`, notNull: true },
    displayname: { expr: sql`${groups.displayNameKey}`, folded: true, notNull: true },
    externalid: { expr: sql`${groups.externalId}` },
    'meta.created': { expr: sql`${groups.createdAt}`, notNull: true },
    'meta.lastmodified': { expr: sql`${groups.updatedAt}`, notNull: true },
  },
  collections: {
    members: {
      columns: { value: { expr: sql`${groupMembers.memberId}` }, type: { expr: sql`${groupMembers.memberType}` } },
      seekable: ['value'],
      membership: (inner) => sql`${groups.id} IN (SELECT ${groupMembers.groupId} FROM ${groupMembers} WHERE ${inner})`,
      correlated: (inner) => sql`EXISTS (SELECT 1 FROM ${groupMembers} WHERE ${groupMembers.groupId} = ${groups.id} AND ${inner})`,
    },
  },
})

/** The columns a group document is indexed by (imports write groups through it too). */
export function groupColumnsOf(doc: ScimObject) {
  const displayName = doc.displayName as string
  return {
    displayName,
    displayNameKey: foldKey(displayName),
    externalId: (doc.externalId as string | undefined) ?? null,
    data: JSON.stringify(doc),
    dataKey: JSON.stringify(foldDocument(GROUP_RESOURCE, doc)),
  }
}

const inIntegration = (s: DirectorySession) => sql`${groups.integrationId} = ${s.integrationId}`
const byId = (s: DirectorySession, id: string) => sql`${inIntegration(s)} AND ${groups.id} = ${id}`
const nameTaken = (name: string) => uniqueness(`A group with displayName "${name}" already exists in this integration.`)

const GROUP_COLUMNS = columnList(groups)

type MemberRow = { owner: string; value: string; type: 'User' | 'Group'; display: string | null }

/** Members of the groups `groupIds` selects, with display names, in a stable order. */
const membersOf = (groupIds: SQL) => sql`SELECT gm.group_id AS owner, gm.member_id AS value, gm.member_type AS type,
    coalesce(u.display_name, u.user_name, mg.display_name) AS display
  FROM group_members AS gm LEFT JOIN users AS u ON u.id = gm.member_id LEFT JOIN groups AS mg ON mg.id = gm.member_id
  WHERE gm.group_id IN ${groupIds} ORDER BY gm.group_id, gm.member_id`

const toReference = (r: MemberRow): Reference => ({
  value: r.value,
  type: r.type,
  ...(r.display !== null ? { display: r.display } : {}),
})

/** One group; its members only when asked for, so `excludedAttributes=members` stays O(1). */
export async function getGroup(s: DirectorySession, id: string, withMembers: boolean): Promise<GroupRecord | undefined> {
  const row = sql`SELECT ${GROUP_COLUMNS} FROM ${groups} WHERE ${byId(s, id)}`
  const [rows, members] = await s.read<GroupRow & MemberRow>(row, ...(withMembers ? [membersOf(sql`(${id})`)] : []))
  return rows![0] && { ...toStored(rows![0]), ...(members ? { members: members.map(toReference) } : {}) }
}

/** A page of groups, as listUsers; members (when asked for) come in the same batch. */
export async function listGroups(s: DirectorySession, spec: ListSpec, withMembers: boolean): Promise<Page<GroupRecord>> {
  const { rows, extras, ...page } = await listRows<GroupRow & { sortKey: string | number | null }>(
    s,
    {
      target: groupFilterTarget(),
      id: sql`${groups.id}`,
      scope: inIntegration(s),
      table: sql`${groups}`,
      select: (where, tail, key) => sql`SELECT ${GROUP_COLUMNS}, ${key} AS "sortKey" FROM ${groups} WHERE ${where} ${tail}`,
      extra: withMembers ? (where, tail) => [membersOf(sql`(SELECT ${groups.id} FROM ${groups} WHERE ${where} ${tail})`)] : undefined,
      unfilteredTotal: (session) => session.counters!.groupCount,
    },
    spec
  )
  const byGroup = extras ? groupBy(extras[0] as MemberRow[], toReference) : undefined
  return { ...page, items: rows.map((r) => ({ ...toStored(r), ...(byGroup ? { members: byGroup.get(r.id) ?? [] } : {}) })) }
}

/** Statements that find which of `ids` exist in this integration, as users or groups, with display names. */
function lookupMembers(s: DirectorySession, ids: string[]) {
  return chunks(ids).flatMap((part) => [
    sql`SELECT ${users.id} AS value, 'User' AS type, coalesce(${users.displayName}, ${users.userName}) AS display
      FROM ${users} WHERE ${usersInScope(s)} AND ${inArray(users.id, part)}`,
    sql`SELECT ${groups.id} AS value, 'Group' AS type, ${groups.displayName} AS display
      FROM ${groups} WHERE ${groups.integrationId} = ${s.integrationId} AND ${inArray(groups.id, part)}`,
  ])
}

function notItself(groupId: string, ids: string[]) {
  if (ids.includes(groupId)) throw invalidValue('A group cannot be a member of itself.')
}

function checkMembers(groupId: string, ids: string[], found: Map<string, Reference>) {
  notItself(groupId, ids)
  const unknown = ids.filter((id) => !found.has(id))
  if (unknown.length > 0)
    throw invalidValue(
      `Unknown member id${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 5)
        .map((u) => `"${u}"`)
        .join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}: members must be users or groups of this integration.`
    )
}

const addedIds = (changes: CollectionChange[]) => [
  ...new Set(changes.flatMap((c) => (c.kind === 'add' ? c.values.map((v) => v.value as string) : []))),
]

/*
 * The membership statements, rendered once (src/directory/prepared.ts). Member ids go in as one JSON
 * array, so any number of them is one statement with one bound value; each is an index seek.
 */
const p = sql.placeholder
const idList = sql`(SELECT value FROM json_each(${p('ids')}))`
const MEMBERS_GUARD = 'members'
/** Every added id is a user or group of this integration, so a batch adding them needs no lookup first. */
const membersExist = guard<'integrationId' | 'ids'>(
  MEMBERS_GUARD,
  sql`NOT EXISTS (SELECT 1 FROM json_each(${p('ids')}) AS j
    WHERE NOT EXISTS (SELECT 1 FROM ${users} WHERE id = j.value AND integration_id = ${p('integrationId')} AND deleted_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM ${groups} WHERE id = j.value AND integration_id = ${p('integrationId')}))`
)
const groupExists = guard<'integrationId' | 'groupId'>(
  'missing',
  sql`EXISTS (SELECT 1 FROM ${groups} WHERE integration_id = ${p('integrationId')} AND id = ${p('groupId')})`
)
const groupUnchanged = guard<'groupId' | 'version'>(
  'stale',
  sql`EXISTS (SELECT 1 FROM ${groups} WHERE id = ${p('groupId')} AND version = ${p('version')})`
)
// Each id's type comes from the table that has it, so no lookup has to come first, and users and
// groups go in with one statement. json_each is the only table of the FROM, so the id list stays
// outer: a few index seeks per id, however large the integration (cost.test.ts, large groups).
const isUser = sql`EXISTS (SELECT 1 FROM ${users} WHERE id = j.value AND integration_id = ${p('integrationId')} AND deleted_at IS NULL)`
const isGroup = sql`EXISTS (SELECT 1 FROM ${groups} WHERE id = j.value AND integration_id = ${p('integrationId')})`
const addMembers = prepared<'groupId' | 'integrationId' | 'ids'>(
  () => sql`INSERT INTO ${groupMembers} (group_id, member_id, member_type, integration_id)
    SELECT ${p('groupId')}, j.value, CASE WHEN ${isUser} THEN 'User' ELSE 'Group' END, ${p('integrationId')}
    FROM json_each(${p('ids')}) AS j WHERE ${isUser} OR ${isGroup}
    ON CONFLICT DO NOTHING`
)
const removeMembers = prepared<'groupId' | 'ids'>(
  () => sql`DELETE FROM ${groupMembers} WHERE group_id = ${p('groupId')} AND member_id IN ${idList}`
)
const removeMembersBut = prepared<'groupId' | 'ids'>(
  () => sql`DELETE FROM ${groupMembers} WHERE group_id = ${p('groupId')} AND member_id NOT IN ${idList}`
)
/** A membership change moves the group's version (its ETag) and lastModified, and reports them. */
const touchGroup = prepared<'integrationId' | 'groupId' | 'now'>(
  () => sql`UPDATE ${groups} SET version = version + 1, updated_at = ${p('now')}
    WHERE integration_id = ${p('integrationId')} AND id = ${p('groupId')}
    RETURNING version, data, created_at AS createdAt`
)

const membersGuard = (s: DirectorySession, ids: string[]) =>
  ids.length > 0 ? [membersExist({ integrationId: s.integrationId, ids: JSON.stringify(ids) })] : []

/** After the members guard failed: reads the added ids to say which are unknown (throws), or undefined if all exist by now. */
async function explainMembers(s: DirectorySession, groupId: string, ids: string[]): Promise<undefined> {
  checkMembers(groupId, ids, foundMembers(await s.read(...lookupMembers(s, ids))))
  return undefined
}

/** Membership statements for `changes`, in order. */
function membershipWrites(s: DirectorySession, groupId: string, changes: CollectionChange[]): Statement[] {
  return changes.flatMap((change, i): Statement[] => {
    switch (change.kind) {
      case 'clear': {
        // A replace (clear, then add) keeps the members it adds again rather than removing and
        // re-adding them, so the feed shows only real changes.
        const next = changes[i + 1]
        return [removeMembersBut({ groupId, ids: JSON.stringify(next?.kind === 'add' ? next.values.map((v) => v.value) : []) })]
      }
      case 'remove':
        return [removeMembers({ groupId, ids: JSON.stringify([...new Set(change.ids)]) })]
      case 'add': {
        const ids = JSON.stringify([...new Set(change.values.map((v) => v.value as string))])
        return [addMembers({ groupId, integrationId: s.integrationId, ids })]
      }
    }
  })
}

/** The results of lookupMembers as a map from id to reference. */
function foundMembers(results: unknown[][]) {
  const found = new Map<string, Reference>()
  for (const rows of results as MemberRow[][]) for (const r of rows) found.set(r.value, toReference(r))
  return found
}

/**
 * Creates a group with its initial members (which must exist in this integration). One round trip:
 * the insert is the displayName check (the groups_display_name index), a guard checks the members,
 * and the members' display names are read back in the same batch.
 */
export async function createGroup(s: DirectorySession, doc: ScimObject, members: ScimObject[]): Promise<GroupRecord> {
  const cols = groupColumnsOf(doc)
  const ids = [...new Set(members.map((m) => m.value as string))]
  const id = crypto.randomUUID()
  const now = nowIso()
  return untilGuardHolds(`Group "${cols.displayName}"`, async () => {
    try {
      const changed = await s.change(
        membersGuard(s, ids),
        s.db.insert(groups).values({ id, integrationId: s.integrationId, ...cols, version: 1, createdAt: now, updatedAt: now }),
        ...membershipWrites(s, id, [{ kind: 'add', values: members }]),
        membersOf(sql`(${id})`)
      )
      if (!changed.rows) return explainMembers(s, id, ids)
      return { id, doc, version: 1, created: now, lastModified: now, members: (changed.rows.at(-1) as MemberRow[]).map(toReference) }
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(cols.displayName)
      throw e
    }
  })
}

export interface GroupUpdate {
  doc: ScimObject
  changes: CollectionChange[]
}

const missingGroup = (id: string) => notFound(`No group with id "${id}" in this integration.`)

/**
 * A change to a group's members alone, in one round trip: member adds and removes commute (INSERT OR
 * IGNORE, DELETE), so nothing is read first and no version is guarded, and IdPs' parallel membership
 * PATCHes to one group never conflict. Guards check that the group exists and that every added
 * member does; only a failed one costs a read, to say which member.
 */
export async function changeMembers(s: DirectorySession, id: string, changes: CollectionChange[]): Promise<GroupRecord> {
  const ids = addedIds(changes)
  notItself(id, ids)
  const now = nowIso()
  return untilGuardHolds(`Group "${id}"`, async () => {
    const changed = await s.change(
      [groupExists({ integrationId: s.integrationId, groupId: id }), ...membersGuard(s, ids)],
      ...membershipWrites(s, id, changes),
      touchGroup({ integrationId: s.integrationId, groupId: id, now })
    )
    if (changed.failed === 'missing') throw missingGroup(id)
    if (!changed.rows) return explainMembers(s, id, ids)
    const [row] = changed.rows.at(-1) as { version: number; data: string; createdAt: string }[]
    return { id, doc: JSON.parse(row!.data) as ScimObject, version: row!.version, created: row!.createdAt, lastModified: now }
  })
}

/**
 * Read-modify-write of a group's document and membership, atomic and version-guarded. The cost is
 * O(changed members): the membership is changed by statements, never loaded and rewritten.
 * `compute` returns undefined when nothing changes.
 */
export async function updateGroup(
  s: DirectorySession,
  id: string,
  compute: (current: GroupRecord) => GroupUpdate | undefined
): Promise<{ record: GroupRecord; changed: boolean }> {
  return untilGuardHolds(`Group "${id}"`, async () => {
    const current = await getGroup(s, id, false)
    if (!current) throw missingGroup(id)
    const update = compute(current)
    if (!update) return { record: current, changed: false }
    const ids = addedIds(update.changes)
    notItself(id, ids)
    const cols = groupColumnsOf(update.doc)
    const now = nowIso()
    // As in changeMembers, a change to members alone needs no version guard; a change to the
    // document itself is guarded by the version it was computed from.
    const docChanged = JSON.stringify(update.doc) !== JSON.stringify(current.doc)
    const renamed = docChanged && update.doc.displayName !== current.doc.displayName
    try {
      const changed = await s.change(
        [...(docChanged ? [groupUnchanged({ groupId: id, version: current.version })] : []), ...membersGuard(s, ids)],
        // Groups that list this one show its new name.
        ...(renamed ? touchGroupsListing([id], now) : []),
        ...membershipWrites(s, id, update.changes),
        s.db
          .update(groups)
          // Membership alone: leave the document columns alone, a concurrent rename may have changed them.
          .set({ ...(docChanged ? cols : {}), version: sql`${groups.version} + 1`, updatedAt: now })
          .where(byId(s, id))
          .returning({ version: groups.version, data: groups.data })
      )
      if (changed.failed === MEMBERS_GUARD) return explainMembers(s, id, ids)
      if (!changed.rows) return undefined
      const [row] = changed.rows.at(-1) as unknown as { version: number; data: string }[]
      if (!row) return undefined
      return {
        record: { id, doc: JSON.parse(row.data) as ScimObject, version: row.version, created: current.created, lastModified: now },
        changed: true,
      }
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(cols.displayName)
      throw e
    }
  })
}

/** Deletes a group and every membership it is part of, either side, guarded like deleteUser. */
export async function deleteGroup(s: DirectorySession, id: string, precondition: (version: number) => void = () => {}): Promise<void> {
  await untilGuardHolds(`Group "${id}"`, async () => {
    const [found] = await s.read<{ version: number }>(sql`SELECT ${groups.version} AS version FROM ${groups} WHERE ${byId(s, id)}`)
    const version = found![0]?.version
    if (version === undefined) throw notFound(`No group with id "${id}" in this integration.`)
    precondition(version)
    const sameVersion = sql`EXISTS (SELECT 1 FROM ${groups} WHERE ${groups.id} = ${id} AND ${groups.version} = ${version})`
    const results = await s.write(...removeGroups(s, [id], nowIso(), sameVersion))
    // true once the guarded delete removed the row; undefined sends untilGuardHolds round again.
    return results[results.length - 1]!.length === 1 ? true : undefined
  })
}
