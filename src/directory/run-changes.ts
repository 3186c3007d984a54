import { sql } from 'drizzle-orm'
import { chunks, nowIso, type Db } from './db'
import { archiveUsers, removeGroups, removeUsers } from './lifecycle'
import { groups, syncChanges, users } from './schema'
import { emptyReport, noteChange, type RunReport } from './run-report'
import { readBatch, type DirectorySession, type Statement } from './session'

/*
 * The archives and removals of an import run. Pages record them here instead of applying them, in
 * the same batch as the page's other writes (a retried step finds them recorded); once the listing
 * is complete and the safeguard (src/sync/safeguard.ts) lets the run go on, they are applied in
 * bounded steps. So a run that stops part-way, is cancelled or is held has archived nobody.
 */

export type ChangeAction = (typeof syncChanges.$inferSelect)['action']

export interface Change {
  targetId: string
  target: 'user' | 'group'
  action: ChangeAction
  reason: string
}

/** Records per statement: JSON of ~80 bytes each, far below D1's statement size limits. */
const PER_STATEMENT = 1000

/**
 * Statements recording `changes` for a run. The user's version is read as the statement runs, so
 * when it follows the user's own update in a batch it records the version after it. `replace`: a
 * later record of a target replaces an earlier one (a removal after a soft delete); `keep`: the
 * earlier, more specific reason stays (the sweep after the pages that named a user).
 */
export function recordChanges(runId: string, changes: Change[], conflict: 'replace' | 'keep' = 'replace'): Statement[] {
  return chunks(changes, PER_STATEMENT).map(
    (part) => sql`INSERT INTO ${syncChanges} (run_id, target_id, target, action, version, reason)
      SELECT ${runId}, json_extract(j.value, '$.targetId'), json_extract(j.value, '$.target'), json_extract(j.value, '$.action'),
        (SELECT version FROM ${users} WHERE id = json_extract(j.value, '$.targetId')), json_extract(j.value, '$.reason')
      FROM json_each(${JSON.stringify(part)}) j WHERE 1
      ON CONFLICT (run_id, target_id) DO ${
        conflict === 'replace'
          ? sql`UPDATE SET action = excluded.action, version = excluded.version, reason = excluded.reason`
          : sql`NOTHING`
      }`
  )
}

/** Forgets what a run recorded for users a later item showed active again. */
export const forgetChanges = (runId: string, userIds: string[]): Statement[] =>
  chunks(userIds, PER_STATEMENT).map(
    (part) =>
      sql`DELETE FROM ${syncChanges} WHERE run_id = ${runId} AND target_id IN (SELECT value FROM json_each(${JSON.stringify(part)}))`
  )

/**
 * After a *completed* full listing (Google's every run, Graph's first run or resync): records the
 * archive of the active users and the removal of the groups whose source ids the listing did not
 * contain. `undefined` for a kind not listed in full (a delta) leaves that kind alone. Reads every
 * row of the integration once (the listing read them all at the source) and writes a record only
 * for what is missing, so an unchanged directory costs no writes.
 */
export async function recordUnlisted(
  s: DirectorySession,
  runId: string,
  listed: { users?: Set<string>; groups?: Set<string> },
  reason = 'no longer in the source directory (its complete listing did not contain it)'
): Promise<{ users: number; groups: number; report: RunReport }> {
  type Row = { id: string; externalId: string | null; userName: string | null }
  const [userRows, groupRows] = await s.read<Row>(
    listed.users
      ? sql`SELECT id, external_id AS externalId, user_name AS userName FROM ${users} WHERE ${users.integrationId} = ${s.integrationId} AND active = 1`
      : sql`SELECT 1 WHERE 0`,
    listed.groups
      ? sql`SELECT id, external_id AS externalId, NULL AS userName FROM ${groups} WHERE ${groups.integrationId} = ${s.integrationId}`
      : sql`SELECT 1 WHERE 0`
  )
  const unlisted = (rows: Row[], ids: Set<string> | undefined) =>
    ids ? rows.filter((r) => r.externalId === null || !ids.has(r.externalId)) : []
  const archive = unlisted(userRows!, listed.users)
  const gone = unlisted(groupRows!, listed.groups)
  const report = emptyReport()
  for (const u of archive) noteChange(report, 'archived', { sourceId: u.externalId ?? u.id, userName: u.userName, reason })
  await s.write(
    ...recordChanges(
      runId,
      [
        ...archive.map((u) => ({ targetId: u.id, target: 'user' as const, action: 'archive' as const, reason })),
        ...gone.map((g) => ({ targetId: g.id, target: 'group' as const, action: 'remove' as const, reason })),
      ],
      'keep'
    )
  )
  return { users: archive.length, groups: gone.length, report }
}

export interface ChangeSummary {
  usersArchived: number
  usersRemoved: number
  groupsRemoved: number
}

const summaryStatement = (runId: string) =>
  sql`SELECT target, action, count(*) AS n FROM ${syncChanges} WHERE run_id = ${runId} GROUP BY target, action`

function summaryOf(rows: { target: string; action: string; n: number }[]): ChangeSummary {
  const n = (target: string, action: string) => rows.find((r) => r.target === target && r.action === action)?.n ?? 0
  return { usersArchived: n('user', 'archive'), usersRemoved: n('user', 'remove'), groupsRemoved: n('group', 'remove') }
}

export async function changeSummary(db: Db, runId: string): Promise<ChangeSummary> {
  const [rows] = await readBatch<{ target: string; action: string; n: number }>(db.$client, summaryStatement(runId))
  return summaryOf(rows!)
}

/**
 * What a run recorded to archive or remove: the counts, and the first `limit` users with who they
 * are and why. One D1 round trip.
 */
export async function runChanges(db: Db, runId: string, limit = 100) {
  const [summary, named] = await readBatch(
    db.$client,
    summaryStatement(runId),
    sql`SELECT c.target_id AS id, u.user_name AS userName, json_extract(u.data, '$.displayName') AS displayName, c.action, c.reason
      FROM ${syncChanges} c LEFT JOIN ${users} u ON u.id = c.target_id
      WHERE c.run_id = ${runId} AND c.target = 'user' ORDER BY c.target_id LIMIT ${limit}`
  )
  return {
    ...summaryOf(summary as { target: string; action: string; n: number }[]),
    users: named as { id: string; userName: string | null; displayName: string | null; action: ChangeAction; reason: string }[],
  }
}

/**
 * Whether any user a run recorded has changed since (a newer version, or gone): an approval then
 * cannot apply "exactly the held changes". Stops at the first one it finds.
 */
export async function changedSinceRecorded(db: Db, runId: string): Promise<boolean> {
  const [rows] = await readBatch(
    db.$client,
    sql`SELECT 1 FROM ${syncChanges} c LEFT JOIN ${users} u ON u.id = c.target_id
      WHERE c.run_id = ${runId} AND c.target = 'user' AND (u.version IS NULL OR u.version != c.version) LIMIT 1`
  )
  return rows!.length > 0
}

/** Changes one apply step takes: a few dozen statements, well inside one step's D1 budget. */
export const APPLY_PER_STEP = 500

/**
 * Applies the next APPLY_PER_STEP recorded changes after `after` (in target id order). A user whose
 * version moved since it was recorded is skipped: what it became is newer than what the run saw.
 * Returns the counts and where the next step starts (undefined when done).
 */
export async function applyChanges(s: DirectorySession, runId: string, after: string) {
  const [rows] = await s.read<{ targetId: string; target: string; action: ChangeAction; version: number | null; current: number | null }>(
    sql`SELECT c.target_id AS targetId, c.target, c.action, c.version, u.version AS current
      FROM ${syncChanges} c LEFT JOIN ${users} u ON c.target = 'user' AND u.id = c.target_id
      WHERE c.run_id = ${runId} AND c.target_id > ${after} ORDER BY c.target_id LIMIT ${APPLY_PER_STEP}`
  )
  const fresh = rows!.filter((r) => r.target === 'group' || (r.current !== null && r.current === r.version))
  const ids = (target: string, action: ChangeAction) =>
    fresh.filter((r) => r.target === target && r.action === action).map((r) => r.targetId)
  const now = nowIso()
  const [archive, remove, groupIds] = [ids('user', 'archive'), ids('user', 'remove'), ids('group', 'remove')]
  await s.write(...archiveUsers(s, archive, now), ...removeUsers(s, remove, now), ...removeGroups(s, groupIds, now))
  return {
    usersArchived: archive.length,
    usersRemoved: remove.length,
    groupsRemoved: groupIds.length,
    skipped: rows!.length - fresh.length,
    next: rows!.length === APPLY_PER_STEP ? rows!.at(-1)!.targetId : undefined,
  }
}
