import { applyChanges, changeSummary, recordUnlisted } from '../directory/run-changes'
import { activeAfterWrites, type RunReport } from '../directory/run-report'
import { finishRun, holdRun, recordProgress, saveReport, type RunLinks } from '../directory/runs'
import { importContext, recordStep, spent, stepContext, type RunRef } from './context'
import { holdReason } from './safeguard'

/*
 * The end of every native run, whatever the source: once its listing is complete, the safeguard
 * decides whether the archives and removals it recorded may be applied; if so they are, in bounded
 * steps. A dry run ends here instead, with its report. Each function is one Workflow step.
 */

/**
 * After a complete full listing (Google's every run, a scoped run, Graph's first or resync has its
 * own in the last listing step): records the archive of the users and the removal of the groups
 * the listing did not contain, with `reason`.
 */
export async function sweepStep(env: Env, run: RunRef, users: string[], groups: string[], reason?: string) {
  const { db, session, cost } = await stepContext(env, run)
  const unlisted = await recordUnlisted(session, run.runId, { users: new Set(users), groups: new Set(groups) }, reason)
  await recordStep(db, run.runId, spent(cost))
  return unlisted.report
}

/**
 * Keeps the run's report and holds the run (keeping its links for an approval) when its changes
 * cross the safeguard.
 */
export async function safeguardStep(env: Env, run: RunRef, links: RunLinks, report: RunReport): Promise<{ held: boolean }> {
  const { db, row } = await importContext(env, run.integrationId)
  // The last boundary before anything is archived: a cancel that came after the last page stops here.
  await recordStep(db, run.runId, {})
  const reason = holdReason(row, row.activeUsers, await changeSummary(db, run.runId))
  if (reason === undefined) {
    await saveReport(db, run.runId, report)
    return { held: false }
  }
  await holdRun(db, run.runId, reason, links, report)
  return { held: true }
}

/** A dry run's end: its report, with what the safeguard would say of a real run making these changes. */
export async function previewStep(env: Env, run: RunRef, report: RunReport) {
  const { db, row } = await importContext(env, run.integrationId)
  await recordStep(db, run.runId, {})
  // A real run judges after its creates and restores are written; the preview counts them in too.
  const wouldHold = holdReason(row, activeAfterWrites(row.activeUsers, report), {
    usersArchived: report.archived.count,
    usersRemoved: report.removed.count,
    groupsRemoved: 0,
  })
  await finishRun(db, run.runId, { dryRun: true }, { ...report, wouldHold: wouldHold ?? null })
}

/**
 * Applies the next slice of the run's recorded changes; returns where the next slice starts. Not
 * cancellable: once the safeguard let them go, a run applies all of them.
 */
export async function applyStep(env: Env, integrationId: string, runId: string, after: string): Promise<string | null> {
  const { db, session, cost } = await importContext(env, integrationId)
  const applied = await applyChanges(session, runId, after)
  await recordProgress(db, runId, {
    ...spent(cost),
    usersArchived: applied.usersArchived,
    usersRemoved: applied.usersRemoved,
    groupsChanged: applied.groupsRemoved,
  })
  return applied.next ?? null
}
