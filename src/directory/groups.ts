import { and, asc, count, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { alias } from 'drizzle-orm/sqlite-core'
import { conflict, invalidValue, notFound, uniqueness } from '../scim/errors'
import type { Filter } from '../scim/filter/ast'
import type { CollectionChange } from '../scim/patch'
import type { ScimObject } from '../scim/resource'
import { GROUP_RESOURCE } from '../scim/schemas/registry'
import { chunks, foldKey, isUniqueViolation, nowIso } from './db'
import { compileFilter, type FilterTarget } from './filter-sql'
import { groupBy, toStored, WRITE_ATTEMPTS, type GroupRecord, type Page, type PageRequest, type Reference } from './records'
import { groupMembers, groups, users, type GroupRow } from './schema'
import type { DirectorySession } from './session'

const memberGroup = alias(groups, 'member_group')

const groupFilterTarget = (): FilterTarget => ({
  rt: GROUP_RESOURCE,
  data: sql`${groups.data}`,
  columns: {
    id: { expr: sql`${groups.id}` },
    displayname: { expr: sql`${groups.displayNameKey}`, folded: true },
    externalid: { expr: sql`${groups.externalId}` },
    'meta.created': { expr: sql`${groups.createdAt}` },
    'meta.lastmodified': { expr: sql`${groups.updatedAt}` },
  },
  collections: {
    members: {
      columns: { value: { expr: sql`${groupMembers.memberId}` }, type: { expr: sql`${groupMembers.memberType}` } },
      membership: (inner) => sql`${groups.id} IN (SELECT ${groupMembers.groupId} FROM ${groupMembers} WHERE ${inner})`,
    },
  },
})

function columnsOf(doc: ScimObject) {
  const displayName = doc.displayName as string
  return {
    displayName,
    displayNameKey: foldKey(displayName),
    externalId: (doc.externalId as string | undefined) ?? null,
    data: JSON.stringify(doc),
  }
}

const byId = (s: DirectorySession, id: string) => and(eq(groups.integrationId, s.integrationId), eq(groups.id, id))
const nameTaken = (name: string) => uniqueness(`A group with displayName "${name}" already exists in this integration.`)

function membersOfQuery(s: DirectorySession, groupIds: SQL) {
  return s.db
    .select({
      owner: groupMembers.groupId,
      value: groupMembers.memberId,
      type: groupMembers.memberType,
      display: sql<string | null>`coalesce(${users.displayName}, ${users.userName}, ${memberGroup.displayName})`,
    })
    .from(groupMembers)
    .leftJoin(users, eq(users.id, groupMembers.memberId))
    .leftJoin(memberGroup, eq(memberGroup.id, groupMembers.memberId))
    .where(sql`${groupMembers.groupId} IN ${groupIds}`)
    .orderBy(asc(groupMembers.groupId), asc(groupMembers.memberId))
}

const toReference = (r: { value: string; type: 'User' | 'Group'; display: string | null }): Reference => ({
  value: r.value,
  type: r.type,
  ...(r.display !== null ? { display: r.display } : {}),
})

/** One group; its members only when asked for, so `excludedAttributes=members` stays O(1). */
export async function getGroup(s: DirectorySession, id: string, withMembers: boolean): Promise<GroupRecord | undefined> {
  const row = s.db.select().from(groups).where(byId(s, id))
  if (!withMembers) {
    const [rows] = await s.read(row)
    return rows[0] && toStored(rows[0])
  }
  const [rows, members] = await s.read(row, membersOfQuery(s, sql`(${id})`))
  return rows[0] && { ...toStored(rows[0]), members: members.map(toReference) }
}

export async function listGroups(
  s: DirectorySession,
  filter: Filter | undefined,
  page: PageRequest,
  withMembers: boolean
): Promise<Page<GroupRecord>> {
  const where = and(eq(groups.integrationId, s.integrationId), filter ? compileFilter(filter, groupFilterTarget()) : undefined)
  const rowsQuery = s.db.select().from(groups).where(where).orderBy(asc(groups.id)).limit(page.count).offset(page.startIndex - 1)
  const pageIds = s.db.select({ id: groups.id }).from(groups).where(where).orderBy(asc(groups.id)).limit(page.count).offset(page.startIndex - 1)
  const totalQuery = filter ? s.db.select({ n: count() }).from(groups).where(where) : undefined
  const membersQuery = withMembers ? membersOfQuery(s, sql`(${pageIds})`) : undefined
  const [rows, ...rest] = (await s.read(rowsQuery, ...[totalQuery, membersQuery].filter((q) => q !== undefined))) as [
    GroupRow[],
    ...unknown[],
  ]
  const total = totalQuery ? ((rest.shift() as { n: number }[])[0]?.n ?? 0) : s.counters!.groupCount
  const byGroup = membersQuery
    ? groupBy(rest.shift() as { owner: string; value: string; type: 'User' | 'Group'; display: string | null }[], toReference)
    : undefined
  return { total, items: rows.map((r) => ({ ...toStored(r), ...(byGroup ? { members: byGroup.get(r.id) ?? [] } : {}) })) }
}

/** Statements that find which of `ids` exist in this integration, as users or groups, with display names. */
function lookupMembers(s: DirectorySession, ids: string[]) {
  return chunks(ids).flatMap((part) => [
    s.db
      .select({ value: users.id, type: sql<'User'>`'User'`, display: sql<string | null>`coalesce(${users.displayName}, ${users.userName})` })
      .from(users)
      .where(and(eq(users.integrationId, s.integrationId), inArray(users.id, part))),
    s.db
      .select({ value: groups.id, type: sql<'Group'>`'Group'`, display: groups.displayName })
      .from(groups)
      .where(and(eq(groups.integrationId, s.integrationId), inArray(groups.id, part))),
  ])
}

function checkMembers(groupId: string, ids: string[], found: Map<string, Reference>) {
  if (ids.includes(groupId)) throw invalidValue('A group cannot be a member of itself.')
  const unknown = ids.filter((id) => !found.has(id))
  if (unknown.length > 0)
    throw invalidValue(
      `Unknown member id${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map((u) => `"${u}"`).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}: members must be users or groups of this integration.`
    )
}

const addedIds = (changes: CollectionChange[]) => [...new Set(changes.flatMap((c) => (c.kind === 'add' ? c.values.map((v) => v.value as string) : [])))]

/** Membership statements for `changes`, in order, each guarded so they run only if `guard` holds. */
function membershipWrites(
  s: DirectorySession,
  groupId: string,
  changes: CollectionChange[],
  found: Map<string, Reference>,
  guard: SQL
): BatchItem<'sqlite'>[] {
  return changes.flatMap((change): BatchItem<'sqlite'>[] => {
    switch (change.kind) {
      case 'clear':
        return [s.db.delete(groupMembers).where(and(eq(groupMembers.groupId, groupId), guard))]
      case 'remove':
        return chunks([...new Set(change.ids)]).map((part) =>
          s.db.delete(groupMembers).where(and(eq(groupMembers.groupId, groupId), inArray(groupMembers.memberId, part), guard))
        )
      case 'add': {
        const ids = [...new Set(change.values.map((v) => v.value as string))]
        return (['User', 'Group'] as const).flatMap((type) => {
          const table = type === 'User' ? users : groups
          return chunks(ids.filter((id) => found.get(id)?.type === type)).map((part) =>
            s.db
              .insert(groupMembers)
              .select(
                s.db
                  .select({
                    groupId: sql<string>`${groupId}`.as('group_id'),
                    memberId: table.id,
                    memberType: sql<'User' | 'Group'>`${type}`.as('member_type'),
                    integrationId: table.integrationId,
                  })
                  .from(table)
                  .where(and(eq(table.integrationId, s.integrationId), inArray(table.id, part), guard))
              )
              .onConflictDoNothing()
          )
        })
      }
    }
  })
}

/** The results of lookupMembers as a map from id to reference. */
function foundMembers(results: unknown[]) {
  const found = new Map<string, Reference>()
  for (const rows of results as { value: string; type: 'User' | 'Group'; display: string | null }[][])
    for (const r of rows) found.set(r.value, toReference(r))
  return found
}

/** Creates a group with its initial members (which must exist in this integration). */
export async function createGroup(s: DirectorySession, doc: ScimObject, members: ScimObject[]): Promise<GroupRecord> {
  const cols = columnsOf(doc)
  const ids = [...new Set(members.map((m) => m.value as string))]
  const lookups = lookupMembers(s, ids)
  const [existing, ...looked] = await s.read(
    s.db.select({ id: groups.id }).from(groups).where(and(eq(groups.integrationId, s.integrationId), eq(groups.displayNameKey, cols.displayNameKey))),
    ...lookups
  )
  if (existing.length > 0) throw nameTaken(cols.displayName)
  const found = foundMembers(looked)
  const id = crypto.randomUUID()
  checkMembers(id, ids, found)
  const now = nowIso()
  const rows = ids.map((memberId) => ({ groupId: id, memberId, memberType: found.get(memberId)!.type!, integrationId: s.integrationId }))
  try {
    await s.write(
      s.db.insert(groups).values({ id, integrationId: s.integrationId, ...cols, version: 1, createdAt: now, updatedAt: now }),
      ...chunks(rows, 22).map((part) => s.db.insert(groupMembers).values(part))
    )
  } catch (e) {
    if (isUniqueViolation(e)) throw nameTaken(cols.displayName)
    throw e
  }
  return { id, doc, version: 1, created: now, lastModified: now, members: ids.map((m) => found.get(m)!) }
}

export interface GroupUpdate {
  doc: ScimObject
  changes: CollectionChange[]
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
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await getGroup(s, id, false)
    if (!current) throw notFound(`No group with id "${id}" in this integration.`)
    const update = compute(current)
    if (!update) return { record: current, changed: false }
    const ids = addedIds(update.changes)
    const lookups = lookupMembers(s, ids)
    const found = foundMembers(ids.length > 0 ? await s.read(...lookups) : [])
    checkMembers(id, ids, found)
    const cols = columnsOf(update.doc)
    const now = nowIso()
    const guard = sql`EXISTS (SELECT 1 FROM ${groups} WHERE ${groups.id} = ${id} AND ${groups.version} = ${current.version})`
    try {
      const results = await s.write(
        ...membershipWrites(s, id, update.changes, found, guard),
        s.db
          .update(groups)
          .set({ ...cols, version: current.version + 1, updatedAt: now })
          .where(and(byId(s, id), eq(groups.version, current.version)))
          .returning({ version: groups.version })
      )
      const bumped = results[results.length - 1] as unknown as { version: number }[]
      if (bumped.length === 1)
        return { record: { id, doc: update.doc, version: current.version + 1, created: current.created, lastModified: now }, changed: true }
    } catch (e) {
      if (isUniqueViolation(e)) throw nameTaken(cols.displayName)
      throw e
    }
  }
  throw conflict(`Group "${id}" kept changing while this request tried to update it; retry the request.`)
}

/** Deletes a group and every membership it is part of, either side. */
export async function deleteGroup(s: DirectorySession, id: string): Promise<void> {
  const [found] = await s.read(s.db.select({ id: groups.id }).from(groups).where(byId(s, id)))
  if (found.length === 0) throw notFound(`No group with id "${id}" in this integration.`)
  await s.write(
    s.db.delete(groupMembers).where(eq(groupMembers.groupId, id)),
    s.db.delete(groupMembers).where(and(eq(groupMembers.memberId, id), eq(groupMembers.integrationId, s.integrationId))),
    s.db.delete(groups).where(byId(s, id))
  )
}
