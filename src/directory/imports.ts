import { and, eq, inArray, sql } from 'drizzle-orm'
import { mergeDocument, parseResource, type ScimObject } from '../scim/resource'
import { USER_RESOURCE } from '../scim/schemas/registry'
import { chunks, foldKey, nowIso } from './db'
import { groupColumnsOf } from './groups'
import { columnsOf, emailRows } from './users'
import { forgetChanges, recordChanges, type Change } from './run-changes'
import { emptyReport, noteChange, type RunReport } from './run-report'
import { memberDisplay, touchGroupsListing } from './memberships'
import { groupMembers, groups, userEmails, users } from './schema'
import type { DirectorySession, Statement } from './session'

/*
 * Writes for native imports (Graph, Google): pages of users and groups from a directory API, applied
 * with writes only for what changed, so a re-run over an unchanged directory writes (almost)
 * nothing. Users are found again by externalId (the source's object id). Only two things archive or
 * remove: an explicit removal or disabling at the source (a delta item), and the sweep after a
 * *completed* full listing (run-changes.ts recordUnlisted). Neither is applied by a page: both are
 * recorded for the run and applied after its listing, once the safeguard lets them.
 */

/**
 * A user from the source: a whole document (Google lists whole objects), or with `partial` a patch
 * merged into the stored one (Graph's delta updates carry only what changed; see mergeDocument).
 */
export type ImportedUser =
  | { kind: 'user'; sourceId: string; doc: ScimObject; partial?: boolean }
  | { kind: 'removed'; sourceId: string; reason: 'changed' | 'deleted' }
  /** In the source but not importable as the integration is set (no chosen userName attribute): reported, not written. */
  | { kind: 'skipped'; sourceId: string; userName: string | null; reason: string }

export type ImportedGroup =
  /** displayName absent: unchanged (an item that carries only a membership change). */
  | { kind: 'group'; sourceId: string; displayName?: string; added: { sourceId: string; type: 'User' | 'Group' }[]; removed: string[] }
  | { kind: 'removed'; sourceId: string }

export interface ImportCounts {
  created: number
  updated: number
  archived: number
  removed: number
}

export const noCounts = (): ImportCounts => ({ created: 0, updated: 0, archived: 0, removed: 0 })

/** A new user row binds 15 values, and D1 binds at most 100 per statement. */
const USERS_PER_INSERT = 6

const EXISTING = sql.raw(
  'id, external_id AS externalId, user_name_key AS userNameKey, data, active, import_step AS importStep, import_change AS importChange'
)

interface ExistingUser {
  id: string
  externalId: string | null
  userNameKey: string
  data: string
  active: number
  importStep: string | null
  importChange: (typeof users.$inferSelect)['importChange']
}

/**
 * Applies one page of users for run `runId`, writing only what changed. Archives and removals are
 * not applied but recorded for the run (see run-changes.ts), in the same batch: `archived` and
 * `removed` count those records, applied only after the listing and the safeguard. The report
 * names who changed and why (on a dry run's session, which writes nothing, it is all there is).
 */
export async function applyUserPage(
  s: DirectorySession,
  runId: string,
  items: ImportedUser[],
  /** The Workflow step applying the page, unique in its run: marks what it writes (see importStep). */
  step?: string
): Promise<ImportCounts & { report: RunReport }> {
  const mark = step === undefined ? null : `${runId}/${step}`
  const counts = noCounts()
  const report = emptyReport()
  const storedName = (u: ExistingUser) => (JSON.parse(u.data) as ScimObject).userName as string
  const latest = latestItems(items)
  const ids = [...latest.keys()]
  const names = [...latest.values()].flatMap((i) =>
    i.kind === 'user' && typeof i.doc.userName === 'string' ? [foldKey(i.doc.userName)] : []
  )
  const lookups = [
    ...chunks(ids).map(
      (part) =>
        sql`SELECT ${EXISTING} FROM ${users} WHERE ${users.integrationId} = ${s.integrationId} AND ${inArray(users.externalId, part)}`
    ),
    ...chunks(names).map(
      (part) =>
        sql`SELECT ${EXISTING} FROM ${users} WHERE ${users.integrationId} = ${s.integrationId} AND ${inArray(users.userNameKey, part)}`
    ),
  ]
  const found = lookups.length > 0 ? (await s.read<ExistingUser>(...lookups)).flat() : []
  const bySource = new Map(found.filter((u) => u.externalId !== null).map((u) => [u.externalId!, u]))
  const byName = new Map(found.map((u) => [u.userNameKey, u]))

  const now = nowIso()
  const writes: Statement[] = []
  const inserts: (typeof users.$inferInsert)[] = []
  const emailInserts: (typeof userEmails.$inferInsert)[] = []
  const changes: Change[] = []
  // Users this page shows active: whatever the run recorded for them before no longer holds.
  const alive: string[] = []
  const noteCreated = (sourceId: string, cols: ReturnType<typeof columnsOf>) => {
    noteChange(report, 'created', {
      sourceId,
      userName: cols.userName,
      reason: cols.active ? 'new in the source directory' : 'new in the source directory, disabled there (imported archived)',
    })
    if (!cols.active) report.createdInactive++
    counts.created++
  }
  const noteUpdated = (change: 'updated' | 'restored', sourceId: string, cols: ReturnType<typeof columnsOf>) => {
    const reason = change === 'restored' ? 'active again in the source directory' : 'changed in the source directory'
    noteChange(report, change, { sourceId, userName: cols.userName, reason })
    counts.updated++
  }

  for (const item of latest.values()) {
    const current = bySource.get(item.sourceId)
    // Never half-filled: a user the source has without the attribute its userName comes from stays
    // as it was (it still counts as listed, so the sweep does not archive it either).
    if (item.kind === 'skipped') {
      noteChange(report, 'skipped', { sourceId: item.sourceId, userName: item.userName, reason: item.reason })
      continue
    }
    if (item.kind === 'removed') {
      if (!current) continue
      if (item.reason === 'deleted') {
        const reason = 'deleted in the source directory'
        changes.push({ targetId: current.id, target: 'user', action: 'remove', reason })
        noteChange(report, 'removed', { sourceId: item.sourceId, userName: storedName(current), reason })
        counts.removed++
      } else if (current.active) {
        // Soft-deleted at the source (restorable there): archived here, not lost.
        const reason = 'deleted in the source directory (restorable there)'
        changes.push({ targetId: current.id, target: 'user', action: 'archive', reason })
        noteChange(report, 'archived', { sourceId: item.sourceId, userName: storedName(current), reason })
        counts.archived++
      }
      continue
    }
    // The same userName under another source id (deleted and re-created at the source): take it over.
    const target = current ?? (typeof item.doc.userName === 'string' ? byName.get(foldKey(item.doc.userName)) : undefined)
    // A partial item for a user never seen (it was created before this integration's first listing
    // and the delta reports only a change) cannot make a whole user; the next full listing will.
    if (!target && item.partial && typeof item.doc.userName !== 'string') {
      noteChange(report, 'skipped', {
        sourceId: item.sourceId,
        userName: null,
        reason: 'skipped: the source sent only a change of a user this integration has not listed yet; the next full listing imports it',
      })
      continue
    }
    // A user is active unless the source says otherwise, as on the SCIM side.
    let doc = item.partial
      ? parseResource(USER_RESOURCE, mergeDocument(current ? (JSON.parse(current.data) as ScimObject) : { active: true }, item.doc))
      : item.doc
    if (!target) {
      const id = crypto.randomUUID()
      const cols = columnsOf(doc)
      inserts.push({
        id,
        integrationId: s.integrationId,
        ...cols,
        version: 1,
        createdAt: now,
        updatedAt: now,
        importStep: mark,
        importChange: 'created',
      })
      emailInserts.push(...emailRows(s.integrationId, id, doc))
      noteCreated(item.sourceId, cols)
      continue
    }
    // Disabled at the source: the rest of the update is written now, the archive recorded for later.
    if (target.active && doc.active === false) {
      doc = { ...doc, active: true }
      const reason = 'disabled in the source directory'
      changes.push({ targetId: target.id, target: 'user', action: 'archive', reason })
      noteChange(report, 'archived', { sourceId: item.sourceId, userName: storedName(target), reason })
      counts.archived++
    } else if (doc.active !== false) alive.push(target.id)
    const cols = columnsOf(doc)
    if (target.data === cols.data) {
      // This very step wrote it, and the Workflow runs the step again (its result was lost after the
      // batch committed): it reports what it did then, as that result would have.
      if (mark !== null && target.importStep === mark && target.importChange) {
        if (target.importChange === 'created') noteCreated(item.sourceId, cols)
        else noteUpdated(target.importChange, item.sourceId, cols)
      }
      continue
    }
    const change = !target.active && doc.active !== false ? 'restored' : 'updated'
    noteUpdated(change, item.sourceId, cols)
    if (memberDisplay(JSON.parse(target.data) as ScimObject) !== memberDisplay(doc)) writes.push(...touchGroupsListing([target.id], now))
    writes.push(
      s.db
        .update(users)
        .set({ ...cols, version: sql`${users.version} + 1`, updatedAt: now, importStep: mark, importChange: change })
        .where(eq(users.id, target.id)),
      s.db.delete(userEmails).where(eq(userEmails.userId, target.id)),
      ...chunks(emailRows(s.integrationId, target.id, doc), 15).map((rows) => s.db.insert(userEmails).values(rows))
    )
  }
  writes.push(
    ...chunks(inserts, USERS_PER_INSERT).map((rows) => s.db.insert(users).values(rows)),
    ...chunks(emailInserts, 15).map((rows) => s.db.insert(userEmails).values(rows)),
    // After the updates, so a record reads the version the user has once they are written.
    ...forgetChanges(runId, alive),
    ...recordChanges(runId, changes)
  )
  await s.write(...writes)
  return { ...counts, report }
}

/**
 * One item per source id, in order of first appearance: Graph may repeat an item within a listing.
 * A removal or a whole document replaces what came before it; partial items compose.
 */
function latestItems(items: ImportedUser[]): Map<string, ImportedUser> {
  const latest = new Map<string, ImportedUser>()
  for (const item of items) {
    const before = latest.get(item.sourceId)
    if (item.kind === 'user' && item.partial && before?.kind === 'user')
      latest.set(item.sourceId, {
        ...item,
        ...(before.partial
          ? { doc: mergeDocument(before.doc, item.doc, true), partial: true }
          : { doc: parseResource(USER_RESOURCE, mergeDocument(before.doc, item.doc)), partial: false }),
      })
    else latest.set(item.sourceId, item)
  }
  return latest
}

/** Our ids for source ids, users and groups of this integration. */
async function resolveSources(s: DirectorySession, sourceIds: string[]): Promise<Map<string, { id: string; type: 'User' | 'Group' }>> {
  const out = new Map<string, { id: string; type: 'User' | 'Group' }>()
  if (sourceIds.length === 0) return out
  const rows = await s.read<{ id: string; externalId: string; type: 'User' | 'Group' }>(
    ...chunks([...new Set(sourceIds)]).flatMap((part) => [
      sql`SELECT id, external_id AS externalId, 'User' AS type FROM ${users} WHERE ${users.integrationId} = ${s.integrationId} AND ${inArray(users.externalId, part)}`,
      sql`SELECT id, external_id AS externalId, 'Group' AS type FROM ${groups} WHERE ${groups.integrationId} = ${s.integrationId} AND ${inArray(groups.externalId, part)}`,
    ])
  )
  for (const r of rows.flat()) out.set(r.externalId, { id: r.id, type: r.type })
  return out
}

export interface GroupPageResult {
  /** Groups created, renamed or whose members changed, each once. */
  changed: number
  /** Their source ids: a later step that sets their members does not count them again. */
  changedIds: string[]
  /** Members that name a group not imported yet (nested groups listed later): retried at the end. */
  pending: { groupSourceId: string; memberSourceId: string }[]
}

/** Applies one page of groups and membership changes; a group's removal is recorded for run `runId`, as a user's. */
export async function applyGroupPage(s: DirectorySession, runId: string, items: ImportedGroup[]): Promise<GroupPageResult> {
  const known = await resolveSources(
    s,
    items.flatMap((i) => (i.kind === 'group' ? [i.sourceId, ...i.added.map((a) => a.sourceId), ...i.removed] : [i.sourceId]))
  )
  const existingRows = await s.read<{ id: string; externalId: string; displayName: string; data: string }>(
    ...chunks([...new Set(items.map((i) => i.sourceId))]).map(
      (part) => sql`SELECT id, external_id AS externalId, display_name AS displayName, data FROM ${groups}
        WHERE ${groups.integrationId} = ${s.integrationId} AND ${inArray(groups.externalId, part)}`
    )
  )
  const existing = new Map(existingRows.flat().map((g) => [g.externalId, g]))
  // A group first seen without a name (a membership-only item) is named by its source id until one comes.
  const nameOf = (i: Extract<ImportedGroup, { kind: 'group' }>) => i.displayName ?? i.sourceId
  const newNames = items.flatMap((i) => (i.kind === 'group' && !existing.has(i.sourceId) ? [foldKey(nameOf(i))] : []))
  const taken = new Set(
    newNames.length === 0
      ? []
      : (
          await s.read<{ key: string }>(
            ...chunks(newNames).map(
              (part) =>
                sql`SELECT display_name_key AS key FROM ${groups} WHERE ${groups.integrationId} = ${s.integrationId} AND ${inArray(groups.displayNameKey, part)}`
            )
          )
        )
          .flat()
          .map((r) => r.key)
  )
  const now = nowIso()
  const result: GroupPageResult = { changed: 0, changedIds: [], pending: [] }
  const counted = new Set<string>()
  const count = (sourceId: string) => {
    if (counted.has(sourceId)) return
    counted.add(sourceId)
    result.changed++
    result.changedIds.push(sourceId)
  }
  const writes: Statement[] = []
  const removals: Change[] = []

  for (const item of items) {
    const current = existing.get(item.sourceId)
    if (item.kind === 'removed') {
      if (current) removals.push({ targetId: current.id, target: 'group', action: 'remove', reason: 'deleted in the source directory' })
      continue
    }
    // Display names need not be unique at the source; here they are, so a duplicate gets its id appended.
    let id = current?.id
    if (!current) {
      id = crypto.randomUUID()
      const name = taken.has(foldKey(nameOf(item))) ? `${nameOf(item)} (${item.sourceId.slice(0, 8)})` : nameOf(item)
      taken.add(foldKey(name))
      writes.push(
        s.db.insert(groups).values({
          id,
          integrationId: s.integrationId,
          ...groupColumnsOf({ displayName: name, externalId: item.sourceId }),
          version: 1,
          createdAt: now,
          updatedAt: now,
        })
      )
      existing.set(item.sourceId, { id, externalId: item.sourceId, displayName: name, data: '' })
      known.set(item.sourceId, { id, type: 'Group' })
      count(item.sourceId)
    } else if (
      item.displayName !== undefined &&
      current.displayName !== item.displayName &&
      !current.displayName.startsWith(`${item.displayName} (`)
    ) {
      writes.push(
        ...touchGroupsListing([current.id], now),
        s.db
          .update(groups)
          .set({
            ...groupColumnsOf({ displayName: item.displayName, externalId: item.sourceId }),
            version: sql`${groups.version} + 1`,
            updatedAt: now,
          })
          .where(eq(groups.id, current.id))
      )
      count(item.sourceId)
    }
    const add = item.added.flatMap((m) => {
      const member = known.get(m.sourceId)
      if (!member) {
        if (m.type === 'Group') result.pending.push({ groupSourceId: item.sourceId, memberSourceId: m.sourceId })
        return []
      }
      return [{ groupId: id!, memberId: member.id, memberType: member.type, integrationId: s.integrationId }]
    })
    const remove = item.removed.flatMap((m) => (known.get(m) ? [known.get(m)!.id] : []))
    writes.push(
      ...chunks(add, 22).map((rows) => s.db.insert(groupMembers).values(rows).onConflictDoNothing()),
      ...chunks(remove).map((part) =>
        s.db.delete(groupMembers).where(and(eq(groupMembers.groupId, id!), inArray(groupMembers.memberId, part)))
      )
    )
    if (add.length + remove.length > 0 && current)
      writes.push(
        s.db
          .update(groups)
          .set({ version: sql`${groups.version} + 1`, updatedAt: now })
          .where(eq(groups.id, current.id))
      )
    if (add.length + remove.length > 0) count(item.sourceId)
  }
  await s.write(...writes, ...recordChanges(runId, removals))
  return result
}

/** Memberships that waited for a nested group listed later in the same run. */
export async function applyPendingMembers(s: DirectorySession, pending: GroupPageResult['pending']): Promise<number> {
  const known = await resolveSources(
    s,
    pending.flatMap((p) => [p.groupSourceId, p.memberSourceId])
  )
  const rows = pending.flatMap((p) => {
    const group = known.get(p.groupSourceId)
    const member = known.get(p.memberSourceId)
    return group && member ? [{ groupId: group.id, memberId: member.id, memberType: member.type, integrationId: s.integrationId }] : []
  })
  await s.write(...chunks(rows, 22).map((part) => s.db.insert(groupMembers).values(part).onConflictDoNothing()))
  return rows.length
}

/**
 * Sets a group's membership to exactly `members` (a source that lists members instead of sending
 * changes, like Google). Reads the current membership, writes only the difference.
 */
export async function replaceGroupMembers(s: DirectorySession, groupSourceId: string, members: { sourceId: string }[]): Promise<number> {
  const known = await resolveSources(s, [groupSourceId, ...members.map((m) => m.sourceId)])
  const group = known.get(groupSourceId)
  if (!group || group.type !== 'Group') return 0
  const [current] = await s.read<{ memberId: string }>(
    sql`SELECT member_id AS memberId FROM ${groupMembers} WHERE ${groupMembers.groupId} = ${group.id}`
  )
  const have = new Set(current!.map((r) => r.memberId))
  const want = new Map(
    members.flatMap((m) =>
      known.get(m.sourceId) && m.sourceId !== groupSourceId ? [[known.get(m.sourceId)!.id, known.get(m.sourceId)!.type] as const] : []
    )
  )
  const add = [...want]
    .filter(([id]) => !have.has(id))
    .map(([memberId, memberType]) => ({ groupId: group.id, memberId, memberType, integrationId: s.integrationId }))
  const remove = [...have].filter((id) => !want.has(id))
  if (add.length + remove.length === 0) return 0
  await s.write(
    ...chunks(add, 22).map((rows) => s.db.insert(groupMembers).values(rows).onConflictDoNothing()),
    ...chunks(remove).map((part) =>
      s.db.delete(groupMembers).where(and(eq(groupMembers.groupId, group.id), inArray(groupMembers.memberId, part)))
    ),
    s.db
      .update(groups)
      .set({ version: sql`${groups.version} + 1`, updatedAt: nowIso() })
      .where(eq(groups.id, group.id))
  )
  return add.length + remove.length
}
