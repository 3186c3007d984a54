/*
 * Import runs in D1: the run records (sync_runs) and where incremental sync resumes (the
 * integration's delta links). The Workflow and the cron reach these rows only through here.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { conflict } from '../scim/errors'
import { isUniqueViolation, nowIso, type Db } from './db'
import type { RunReport } from './run-report'
import { integrations, syncChanges, syncRuns, type IntegrationRow, type RunFailureKind, type SyncRunRow } from './schema'

export type { RunFailureKind }

/** A run that has recorded no progress for this long has died, whatever its Workflow says. */
export const SILENT_RUN_MS = 60 * 60 * 1000
export const SILENT_RUN_ERROR = 'The run stopped without finishing: it recorded no progress for an hour. The next run starts over.'

export interface RunCounts {
  pages: number
  usersCreated: number
  usersUpdated: number
  usersArchived: number
  usersRemoved: number
  groupsChanged: number
  rowsRead: number
  rowsWritten: number
}

/** Runs kept per integration, with their reports. */
export const KEPT_RUNS = 50

export const heldConflict = (name: string, runId: string) =>
  conflict(
    `Run ${runId} of "${name}" is held by the import safeguard: approve it (POST .../syncs/${runId}/approve) or reject it (.../reject) before another sync can start.`
  )

/**
 * Records a new run. One run per integration at a time: the partial unique index on running and
 * held runs refuses a second one, whoever asks (cron or "Sync users now"). A dead run is ended before this,
 * by the caller (src/sync/runs.ts checkRunning), so the rule lives in one place.
 */
export async function insertRun(db: Db, row: IntegrationRow, trigger: 'cron' | 'manual', dryRun = false): Promise<{ runId: string }> {
  const now = nowIso()
  const runId = crypto.randomUUID()
  try {
    const older = sql`SELECT id FROM ${syncRuns} WHERE integration_id = ${row.id} ORDER BY started_at DESC LIMIT -1 OFFSET ${KEPT_RUNS}`
    await db.batch([
      db.insert(syncRuns).values({ id: runId, integrationId: row.id, trigger, status: 'running', startedAt: now, progressAt: now, dryRun }),
      // The history keeps the newest runs (this one among them) and their reports.
      db.delete(syncChanges).where(sql`${syncChanges.runId} IN (${older})`),
      db.delete(syncRuns).where(sql`${syncRuns.id} IN (${older})`),
    ])
  } catch (e) {
    if (!isUniqueViolation(e)) throw e
    const [[open]] = await db.batch([
      db
        .select({ id: syncRuns.id, status: syncRuns.status })
        .from(syncRuns)
        .where(and(eq(syncRuns.integrationId, row.id), inArray(syncRuns.status, ['running', 'held']))),
    ])
    if (open?.status === 'held') throw heldConflict(row.name, open.id)
    throw conflict(`A sync of "${row.name}" is already running (run ${open?.id ?? 'unknown'}); wait for it to finish.`)
  }
  return { runId }
}

/**
 * Ends a run the platform lost (its Workflow instance errored, was terminated or is gone, or it went
 * silent) as failed with `reason`, if it is still recorded as running. Returns whether it did.
 */
export async function failDeadRun(db: Db, runId: string, reason: string): Promise<boolean> {
  const [ended] = await db.batch([
    db
      .update(syncRuns)
      .set({ status: 'failed', finishedAt: nowIso(), error: reason })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running')))
      .returning({ id: syncRuns.id }),
  ])
  return ended.length === 1
}

/** Whether a running run has been silent for SILENT_RUN_MS. */
export const isSilent = (run: SyncRunRow, now = Date.now()) => Date.parse(run.progressAt ?? run.startedAt) < now - SILENT_RUN_MS

/** Adds a step's counts to its run; says whether an admin has asked to cancel it since (read in the same statement). */
export async function recordProgress(
  db: Db,
  runId: string,
  add: Partial<RunCounts>,
  mode?: 'full' | 'delta'
): Promise<{ cancelRequested: boolean }> {
  const inc = (column: SQLiteColumn, by: number | undefined) => sql`${column} + ${by ?? 0}`
  const [[row]] = await db.batch([
    db
      .update(syncRuns)
      .set({
        pages: inc(syncRuns.pages, add.pages),
        usersCreated: inc(syncRuns.usersCreated, add.usersCreated),
        usersUpdated: inc(syncRuns.usersUpdated, add.usersUpdated),
        usersArchived: inc(syncRuns.usersArchived, add.usersArchived),
        usersRemoved: inc(syncRuns.usersRemoved, add.usersRemoved),
        groupsChanged: inc(syncRuns.groupsChanged, add.groupsChanged),
        rowsRead: inc(syncRuns.rowsRead, add.rowsRead),
        rowsWritten: inc(syncRuns.rowsWritten, add.rowsWritten),
        progressAt: nowIso(),
        // A run is "full" once any part of it listed everything, else "delta".
        ...(mode ? { mode: mode === 'full' ? ('full' as const) : sql`coalesce(${syncRuns.mode}, 'delta')` } : {}),
      })
      .where(eq(syncRuns.id, runId))
      .returning({ cancelRequestedAt: syncRuns.cancelRequestedAt }),
  ])
  return { cancelRequested: row?.cancelRequestedAt != null }
}

/**
 * Records what kind of failure is ending a running run, from inside the step that failed: across
 * the step boundary a failure is only its message, so the Workflow could not tell the kind itself.
 */
export async function recordFailureKind(db: Db, runId: string, kind: RunFailureKind) {
  await db.batch([
    db
      .update(syncRuns)
      .set({ errorKind: kind })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running'))),
  ])
}

/**
 * Asks a running run to stop at its next step boundary (src/sync/context.ts recordStep). Returns
 * the run, or undefined when it is not running (finished, held, or another integration's).
 */
export async function requestCancel(db: Db, integrationId: string, runId: string): Promise<SyncRunRow | undefined> {
  const [[row]] = await db.batch([
    db
      .update(syncRuns)
      .set({ cancelRequestedAt: sql`coalesce(${syncRuns.cancelRequestedAt}, ${nowIso()})` })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.integrationId, integrationId), eq(syncRuns.status, 'running')))
      .returning(),
  ])
  return row
}

/** Ends a run: succeeded (and the delta links saved for the next one), cancelled, or failed with a reason. */
export async function finishRun(
  db: Db,
  runId: string,
  outcome:
    | { error: string }
    | { cancelled: true }
    | { dryRun: true }
    | { integrationId: string; usersDeltaLink?: string; groupsDeltaLink?: string },
  report?: RunReport
) {
  const now = nowIso()
  const reported = report ? { report: JSON.stringify(report) } : {}
  // Only a run still recorded as running ends here: one already ended as dead (failDeadRun) stays
  // failed, and its late finish moves no delta link.
  const stillRunning = and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running'))
  if ('error' in outcome) {
    await db.batch([
      db
        .update(syncRuns)
        .set({ status: 'failed', finishedAt: now, error: outcome.error, ...reported })
        .where(stillRunning),
    ])
    return
  }
  // Cancelled: what its steps wrote stays, nothing it recorded is applied, no delta link moves.
  // A dry run moves no delta link either: the next real run reads the same changes.
  if ('cancelled' in outcome || 'dryRun' in outcome) {
    const status = 'cancelled' in outcome ? ('cancelled' as const) : ('succeeded' as const)
    // A dry run ends with its complete listing's report; a cancelled run's is partial.
    const counted = 'dryRun' in outcome && report ? listedCounts(report) : {}
    await db.batch([
      db
        .update(syncRuns)
        .set({ status, finishedAt: now, errorKind: null, ...counted, ...reported })
        .where(stillRunning),
    ])
    return
  }
  // Delta links move forward only with a finished run, so a failed run's changes are read again.
  await db.batch([
    db
      .update(integrations)
      // A finished run has applied its archives (approved, where the safeguard held them).
      .set({ usersDeltaLink: outcome.usersDeltaLink ?? null, groupsDeltaLink: outcome.groupsDeltaLink ?? null, holdNextRemovals: false })
      .where(and(eq(integrations.id, outcome.integrationId), sql`EXISTS (SELECT 1 FROM ${syncRuns} WHERE ${stillRunning})`)),
    db
      .update(syncRuns)
      .set({ status: 'succeeded', finishedAt: now, errorKind: null, ...reported })
      .where(stillRunning),
  ])
}

export async function getRun(db: Db, integrationId: string, runId: string): Promise<SyncRunRow | undefined> {
  const [[row]] = await db.batch([
    db
      .select()
      .from(syncRuns)
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.integrationId, integrationId))),
  ])
  return row
}

/** The newest run; with `real`, the newest that was not a dry run (what the schedule counts from). */
export async function lastRun(db: Db, integrationId: string, options: { real?: boolean } = {}): Promise<SyncRunRow | undefined> {
  const [[row]] = await db.batch([
    db
      .select()
      .from(syncRuns)
      .where(and(eq(syncRuns.integrationId, integrationId), options.real ? eq(syncRuns.dryRun, false) : undefined))
      .orderBy(desc(syncRuns.startedAt))
      .limit(1),
  ])
  return row
}

/**
 * The last run of each of `integrationIds`, in one round trip (the integrations list shows each
 * one's), chunked under D1's bound-parameter limit.
 */
export async function lastRuns(db: Db, integrationIds: string[]): Promise<Map<string, SyncRunRow>> {
  const chunks: string[][] = []
  for (let i = 0; i < integrationIds.length; i += 90) chunks.push(integrationIds.slice(i, i + 90))
  // Driven from the integrations: one seek of the index per integration, then its run by id.
  const latest = (ids: string[]) =>
    db
      .select()
      .from(syncRuns)
      .where(
        sql`${syncRuns.id} IN (SELECT (SELECT r.id FROM sync_runs r WHERE r.integration_id = i.id ORDER BY r.started_at DESC LIMIT 1)
          FROM integrations i WHERE i.id IN (${sql.join(
            ids.map((id) => sql`${id}`),
            sql`, `
          )}))`
      )
  const byId = new Map<string, SyncRunRow>()
  if (chunks.length === 0) return byId
  const results = await db.batch(chunks.map(latest) as [ReturnType<typeof latest>, ...ReturnType<typeof latest>[]])
  for (const rows of results) for (const row of rows) byId.set(row.integrationId, row)
  return byId
}

/**
 * An integration's run history, newest first, `limit` at a time; `after` is the last run id of the
 * previous page (a run pruned since ends the history there). One index range on sync_runs_integration.
 */
export async function listRuns(db: Db, integrationId: string, limit: number, after?: string) {
  const [rows] = await db.batch([
    db
      .select()
      .from(syncRuns)
      .where(
        and(
          eq(syncRuns.integrationId, integrationId),
          after === undefined
            ? undefined
            : sql`(${syncRuns.startedAt}, ${syncRuns.id}) < (SELECT started_at, id FROM ${syncRuns} WHERE id = ${after} AND integration_id = ${integrationId})`
        )
      )
      .orderBy(desc(syncRuns.startedAt), desc(syncRuns.id))
      .limit(limit + 1),
  ])
  const page = rows.slice(0, limit)
  return { runs: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null }
}

/** Where a run's listing ended: the delta links the next run starts from, once this one finishes. */
export interface RunLinks {
  usersDeltaLink?: string
  groupsDeltaLink?: string
}

/**
 * A complete listing's creates and updates, from its report: the steps' own increments count a step
 * the Workflow ran again twice, while the report adds up each step's result once (and a step run
 * again reports what it wrote the first time, see applyUserPage).
 */
const listedCounts = (report: RunReport) => ({
  usersCreated: report.created.count,
  usersUpdated: report.updated.count + report.restored.count,
})

/** Keeps what a run's listing found (src/directory/run-report.ts) on its record, and its user counts. */
export async function saveReport(db: Db, runId: string, report: RunReport) {
  await db.batch([
    db
      .update(syncRuns)
      .set({ report: JSON.stringify(report), ...listedCounts(report) })
      .where(eq(syncRuns.id, runId)),
  ])
}

/** Holds a running run for an admin (see src/sync/safeguard.ts), keeping its links for an approval. */
export async function holdRun(db: Db, runId: string, reason: string, links: RunLinks, report: RunReport) {
  await db.batch([
    db
      .update(syncRuns)
      .set({
        status: 'held',
        heldReason: reason,
        heldLinks: JSON.stringify(links),
        progressAt: nowIso(),
        report: JSON.stringify(report),
        ...listedCounts(report),
      })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running'))),
  ])
}

export const heldLinks = (run: SyncRunRow): RunLinks => (run.heldLinks ? (JSON.parse(run.heldLinks) as RunLinks) : {})

/**
 * An approved run runs again, in a new Workflow instance (`instanceId`) that applies what it held.
 * Returns the run, or undefined when it was not held (already decided, or another run's id).
 */
export async function resumeHeld(db: Db, integrationId: string, runId: string, instanceId: string): Promise<SyncRunRow | undefined> {
  const [[row]] = await db.batch([
    db
      .update(syncRuns)
      .set({ status: 'running', instanceId, progressAt: nowIso() })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.integrationId, integrationId), eq(syncRuns.status, 'held')))
      .returning(),
  ])
  return row
}

/**
 * A rejected run ends without applying what it held; its delta links are dropped, so the next run
 * reads the same changes again. Returns the run, or undefined when it was not held.
 */
export async function rejectHeld(db: Db, integrationId: string, runId: string): Promise<SyncRunRow | undefined> {
  const [[row]] = await db.batch([
    db
      .update(syncRuns)
      .set({ status: 'rejected', finishedAt: nowIso(), heldLinks: null })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.integrationId, integrationId), eq(syncRuns.status, 'held')))
      .returning(),
  ])
  return row
}
