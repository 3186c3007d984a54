import {
  failDeadRun,
  finishRun,
  getRun,
  insertRun,
  isSilent,
  lastRun,
  rejectHeld,
  requestCancel,
  resumeHeld,
  SILENT_RUN_ERROR,
} from '../directory/runs'
import { changedSinceRecorded } from '../directory/run-changes'
import type { Db } from '../directory/db'
import { parseReport } from '../directory/run-report'
import type { IntegrationRow, SyncRunRow } from '../directory/schema'
import { conflict, invalidValue, notFound } from '../scim/errors'
import { instanceStatus, startInstance, terminateInstance } from './instances'

// Native integrations import every four hours (the cron trigger in wrangler.toml).
export const SYNC_INTERVAL_MS = 4 * 60 * 60 * 1000

export const isNative = (row: IntegrationRow) => row.kind !== 'scim'

/**
 * Workflow instance states in which the run is still going (or will go on by itself). `unknown` is
 * the platform not knowing yet, not a death: such a run is ended only once it has gone silent.
 */
export const ALIVE = new Set(['queued', 'running', 'paused', 'waiting', 'waitingForPause', 'unknown'])

/**
 * Whether a run recorded as running is really going: its Workflow instance is alive and it has
 * made progress lately. A dead one (errored, terminated or lost instance, or silent) is ended as
 * failed with the reason, and a silent instance is terminated so it cannot finish the run later.
 * Returns true when the run is still going.
 */
export async function checkRunning(db: Db, workflow: Workflow, run: SyncRunRow, now = Date.now()): Promise<boolean> {
  const instanceId = run.instanceId ?? run.id
  const status = await instanceStatus(workflow, instanceId)
  if (ALIVE.has(status) && !isSilent(run, now)) return true
  if (ALIVE.has(status)) await terminateInstance(workflow, instanceId)
  const reason = ALIVE.has(status)
    ? SILENT_RUN_ERROR
    : `The run stopped without finishing: its Workflow instance is ${status === 'missing' ? 'gone' : status} (a deploy or an exhausted retry ends one). The next run starts over.`
  await failDeadRun(db, run.id, reason)
  return false
}

/**
 * Records a new run (one at a time per integration, see insertRun) and starts its Workflow. A run
 * still recorded as running is checked first: if its Workflow died, it is ended and this one starts.
 */
export async function startRun(
  db: Db,
  workflow: Workflow,
  row: IntegrationRow,
  trigger: 'cron' | 'manual',
  options: { dryRun?: boolean } = {}
): Promise<{ runId: string }> {
  if (!isNative(row)) throw invalidValue(`Integration "${row.name}" receives SCIM pushes; only native (entra, google) integrations sync.`)
  if (!row.config)
    throw conflict(
      `Integration "${row.name}" is not connected yet: ${row.kind === 'entra' ? 'run "Sign in with Azure"' : 'run "Sign in with Google"'} (GET /api/v1/integrations/${row.id}/connect and open the link) or give it credentials, then sync.`
    )
  // A held run (like a running one) makes insertRun refuse, with what to do about it.
  const last = await lastRun(db, row.id)
  if (last?.status === 'running') await checkRunning(db, workflow, last)
  const { runId } = await insertRun(db, row, trigger, options.dryRun === true)
  try {
    await startInstance(workflow, { id: runId, params: { integrationId: row.id, runId, ...(options.dryRun ? { dryRun: true } : {}) } })
  } catch (e) {
    await finishRun(db, runId, { error: `The sync could not be started: ${String(e)}` })
    throw e
  }
  return { runId }
}

async function heldRun(db: Db, integrationId: string, runId: string): Promise<SyncRunRow> {
  const run = await getRun(db, integrationId, runId)
  if (!run) throw notFound(`No sync run "${runId}" for this integration.`)
  if (run.status !== 'held') throw conflict(`Run ${runId} is ${run.status}, not held: there is nothing to approve or reject.`)
  return run
}

/**
 * Approves a held run: a new Workflow instance applies exactly the archives and removals it held,
 * then finishes it (saving its delta links). Refused when a user it holds has changed since.
 */
export async function approveRun(db: Db, workflow: Workflow, integrationId: string, runId: string) {
  await heldRun(db, integrationId, runId)
  if (await changedSinceRecorded(db, runId))
    throw conflict(
      `The directory has changed since run ${runId} was held (a user it would archive or remove is different now): reject it and run a new sync.`
    )
  const instanceId = `${runId}-approved`
  if (!(await resumeHeld(db, integrationId, runId, instanceId))) await heldRun(db, integrationId, runId)
  try {
    await startInstance(workflow, { id: instanceId, params: { integrationId, runId, approved: true } })
  } catch (e) {
    await finishRun(db, runId, { error: `The approved run could not be started: ${String(e)}` })
    throw e
  }
}

/**
 * Cancels a running run at its next step boundary (the Workflow ends it as cancelled). A held run
 * is rejected instead, and a finished one has nothing to cancel.
 */
export async function cancelRun(db: Db, integrationId: string, runId: string): Promise<SyncRunRow> {
  const run = await requestCancel(db, integrationId, runId)
  if (run) return run
  const other = await getRun(db, integrationId, runId)
  if (!other) throw notFound(`No sync run "${runId}" for this integration.`)
  if (other.status === 'held')
    throw conflict(`Run ${runId} is held by the import safeguard, not running: reject it (POST .../syncs/${runId}/reject) to discard it.`)
  throw conflict(`Run ${runId} is ${other.status}, not running: there is nothing to cancel.`)
}

/** Rejects a held run: nothing it held is applied, and the next run reads the same changes again. */
export async function rejectRun(db: Db, integrationId: string, runId: string) {
  if (!(await rejectHeld(db, integrationId, runId))) await heldRun(db, integrationId, runId)
}

/** The next cron tick (UTC hours 0, 4, 8, …) after `now`. */
export function nextScheduledRun(now = Date.now()): string {
  return new Date(Math.floor(now / SYNC_INTERVAL_MS) * SYNC_INTERVAL_MS + SYNC_INTERVAL_MS).toISOString()
}

export function runView(run: SyncRunRow) {
  return {
    runId: run.id,
    trigger: run.trigger,
    dryRun: run.dryRun,
    status: run.status,
    mode: run.mode,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null,
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
    /** 'auth', 'config' or 'notFound' when that ended the run (see SyncError), else null. */
    errorKind: run.errorKind,
    /** What the listing found (a dry run: what a real run would do), once the listing is complete. */
    report: parseReport(run.report),
    ...(run.status === 'held' ? { heldReason: run.heldReason } : {}),
    ...(run.cancelRequestedAt ? { cancelRequestedAt: run.cancelRequestedAt } : {}),
  }
}
