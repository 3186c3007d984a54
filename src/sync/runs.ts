import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { conflict, invalidValue } from '../scim/errors'
import { isUniqueViolation, nowIso, type Db } from '../directory/db'
import { integrations, syncRuns, type IntegrationRow, type SyncRunRow } from '../directory/schema'

// Native integrations import every four hours (the cron trigger in wrangler.toml).
export const SYNC_INTERVAL_MS = 4 * 60 * 60 * 1000
/** A run still "running" after this long has died without recording it (the Workflow is gone). */
const STALE_RUN_MS = 6 * 60 * 60 * 1000

export const isNative = (row: IntegrationRow) => row.kind !== 'scim'

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

/**
 * Records a new run and starts its Workflow. One run per integration at a time: the partial unique
 * index on running runs refuses a second one, whoever asks (cron or "Sync users now").
 */
export async function startRun(db: Db, workflow: Workflow, row: IntegrationRow, trigger: 'cron' | 'manual'): Promise<{ runId: string }> {
  if (!isNative(row)) throw invalidValue(`Integration "${row.name}" receives SCIM pushes; only native (entra, google) integrations sync.`)
  const now = nowIso()
  const runId = crypto.randomUUID()
  try {
    await db.batch([
      db
        .update(syncRuns)
        .set({ status: 'failed', finishedAt: now, error: 'The run stopped without finishing (no progress for six hours).' })
        .where(
          and(
            eq(syncRuns.integrationId, row.id),
            eq(syncRuns.status, 'running'),
            lt(syncRuns.startedAt, new Date(Date.now() - STALE_RUN_MS).toISOString())
          )
        ),
      db.insert(syncRuns).values({ id: runId, integrationId: row.id, trigger, status: 'running', startedAt: now }),
    ])
  } catch (e) {
    if (!isUniqueViolation(e)) throw e
    const [[running]] = await db.batch([
      db
        .select({ id: syncRuns.id })
        .from(syncRuns)
        .where(and(eq(syncRuns.integrationId, row.id), eq(syncRuns.status, 'running'))),
    ])
    throw conflict(`A sync of "${row.name}" is already running (run ${running?.id ?? 'unknown'}); wait for it to finish.`)
  }
  try {
    await workflow.create({ id: runId, params: { integrationId: row.id, runId } })
  } catch (e) {
    await finishRun(db, runId, { error: `The sync could not be started: ${String(e)}` })
    throw e
  }
  return { runId }
}

export async function recordProgress(db: Db, runId: string, add: Partial<RunCounts>, mode?: 'full' | 'delta') {
  const inc = (column: SQLiteColumn, by: number | undefined) => sql`${column} + ${by ?? 0}`
  await db.batch([
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
        // A run is "full" once any part of it listed everything, else "delta".
        ...(mode ? { mode: mode === 'full' ? ('full' as const) : sql`coalesce(${syncRuns.mode}, 'delta')` } : {}),
      })
      .where(eq(syncRuns.id, runId)),
  ])
}

/** Ends a run: succeeded (and the delta links saved for the next one) or failed with a reason. */
export async function finishRun(
  db: Db,
  runId: string,
  outcome: { error: string } | { integrationId: string; usersDeltaLink?: string; groupsDeltaLink?: string }
) {
  const now = nowIso()
  if ('error' in outcome) {
    await db.batch([db.update(syncRuns).set({ status: 'failed', finishedAt: now, error: outcome.error }).where(eq(syncRuns.id, runId))])
    return
  }
  // Delta links move forward only with a finished run, so a failed run's changes are read again.
  await db.batch([
    db
      .update(integrations)
      .set({ usersDeltaLink: outcome.usersDeltaLink ?? null, groupsDeltaLink: outcome.groupsDeltaLink ?? null })
      .where(eq(integrations.id, outcome.integrationId)),
    db.update(syncRuns).set({ status: 'succeeded', finishedAt: now }).where(eq(syncRuns.id, runId)),
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

export async function lastRun(db: Db, integrationId: string): Promise<SyncRunRow | undefined> {
  const [[row]] = await db.batch([
    db.select().from(syncRuns).where(eq(syncRuns.integrationId, integrationId)).orderBy(desc(syncRuns.startedAt)).limit(1),
  ])
  return row
}

/** The next cron tick (UTC hours 0, 4, 8, …) after `now`. */
export function nextScheduledRun(now = Date.now()): string {
  return new Date(Math.floor(now / SYNC_INTERVAL_MS) * SYNC_INTERVAL_MS + SYNC_INTERVAL_MS).toISOString()
}

export function runView(run: SyncRunRow) {
  return {
    runId: run.id,
    trigger: run.trigger,
    status: run.status,
    mode: run.mode,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    progress: { pages: run.pages },
    cost: { rowsRead: run.rowsRead, rowsWritten: run.rowsWritten },
    counts: {
      usersCreated: run.usersCreated,
      usersUpdated: run.usersUpdated,
      usersArchived: run.usersArchived,
      usersRemoved: run.usersRemoved,
      groupsChanged: run.groupsChanged,
    },
    error: run.error,
  }
}
