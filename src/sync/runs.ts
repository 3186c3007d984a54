import { finishRun, insertRun } from '../directory/runs'
import type { Db } from '../directory/db'
import type { IntegrationRow, SyncRunRow } from '../directory/schema'
import { invalidValue } from '../scim/errors'

// Native integrations import every four hours (the cron trigger in wrangler.toml).
export const SYNC_INTERVAL_MS = 4 * 60 * 60 * 1000

export const isNative = (row: IntegrationRow) => row.kind !== 'scim'

/** Records a new run (one at a time per integration, see insertRun) and starts its Workflow. */
export async function startRun(db: Db, workflow: Workflow, row: IntegrationRow, trigger: 'cron' | 'manual'): Promise<{ runId: string }> {
  if (!isNative(row)) throw invalidValue(`Integration "${row.name}" receives SCIM pushes; only native (entra, google) integrations sync.`)
  const { runId } = await insertRun(db, row, trigger)
  try {
    await workflow.create({ id: runId, params: { integrationId: row.id, runId } })
  } catch (e) {
    await finishRun(db, runId, { error: `The sync could not be started: ${String(e)}` })
    throw e
  }
  return { runId }
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
