import { createDb } from '../directory/db'
import { nativeIntegrations } from '../directory/integrations'
import { ScimError } from '../scim/errors'
import { lastRun } from '../directory/runs'
import { startRun, SYNC_INTERVAL_MS } from './runs'

/** Slack for cron's own timing: a run that started 3 h 50 min ago is due at the 4-hour tick. */
const DUE_SLACK_MS = 10 * 60 * 1000

/**
 * The cron tick: starts one run for each native integration that is connected, not paused and due (no run in
 * the last four hours), and none for those with a run still going. Returns what it started.
 */
export async function startDueRuns(env: Env, now = Date.now()): Promise<{ started: string[]; skipped: string[] }> {
  const db = createDb(env.DB)
  const rows = await nativeIntegrations(db)
  const started: string[] = []
  const skipped: string[] = []
  for (const row of rows) {
    // Not connected yet, or paused by an admin.
    if (!row.config || row.pausedAt) {
      skipped.push(row.id)
      continue
    }
    // Dry runs do not count: a preview does not put off the next real import.
    const last = await lastRun(db, row.id, { real: true })
    // A held run waits for an admin: no scheduled run starts before it is approved or rejected.
    if (last?.status === 'held') {
      skipped.push(row.id)
      continue
    }
    // A run still recorded as running is left to startRun, which ends it if its Workflow died.
    if (last && last.status !== 'running' && Date.parse(last.startedAt) > now - SYNC_INTERVAL_MS + DUE_SLACK_MS) {
      skipped.push(row.id)
      continue
    }
    try {
      await startRun(db, env.SYNC, row, 'cron')
      started.push(row.id)
    } catch (e) {
      // Another tick or "Sync users now" got there first: that run covers this one.
      if (!(e instanceof ScimError && e.status === 409))
        console.error(JSON.stringify({ msg: 'cron could not start a sync', integrationId: row.id, error: String(e) }))
      skipped.push(row.id)
    }
  }
  return { started, skipped }
}
