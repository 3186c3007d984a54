import { NonRetryableError } from 'cloudflare:workflows'
import { createDb, meteredD1, newCost, type D1Cost, type Db } from '../directory/db'
import { recordProgress, type RunCounts } from '../directory/runs'
import { getIntegration } from '../directory/integrations'
import { DirectorySession } from '../directory/session'

/**
 * What one import step works with: its integration, the directory as the import (not a SCIM
 * token) sees it, and a metered D1 so the run records the rows each page read and wrote.
 */
export async function importContext(env: Env, integrationId: string, dryRun = false) {
  const cost = newCost()
  const d1 = meteredD1(env.DB, cost)
  const db = createDb(d1)
  const row = await getIntegration(db, integrationId)
  return { db, row, cost, session: new DirectorySession(d1, db, { integrationId, ...(dryRun ? { dryRun } : {}) }) }
}

/** The run a step belongs to, as the Workflow passes it to every step. */
export interface RunRef {
  integrationId: string
  runId: string
  /** Reads the source and the directory as a real run would, and writes no directory row. */
  dryRun?: boolean
}

/** importContext for one step of `run`. */
export const stepContext = (env: Env, run: RunRef) => importContext(env, run.integrationId, run.dryRun === true)

/** A step's D1 cost, as recordProgress adds it to the run. */
export const spent = (cost: D1Cost) => ({ rowsRead: cost.rowsRead, rowsWritten: cost.rowsWritten })

/** The message a cancelled run's steps stop with; the Workflow ends such a run as cancelled, not failed. */
export const RUN_CANCELLED = 'The run was cancelled by an admin.'

/**
 * Records a listing step's progress and stops the run there if an admin asked to cancel it: the
 * step's writes stay (each page is one batch), and the Workflow goes no further, so nothing the
 * listing recorded is archived or removed. Not retried: a cancel does not go away.
 *
 * The users created and updated added here are the run's live progress: a step the Workflow runs
 * again adds them twice. Once the listing is complete, its report sets them exactly
 * (src/directory/runs.ts listedCounts); a failed or cancelled run keeps these sums.
 */
export async function recordStep(db: Db, runId: string, add: Partial<RunCounts>, mode?: 'full' | 'delta') {
  if ((await recordProgress(db, runId, add, mode)).cancelRequested) throw new NonRetryableError(RUN_CANCELLED)
}
