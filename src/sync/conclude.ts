import { applyChanges, changeSummary } from '../directory/run-changes'
import { holdRun, recordProgress, type RunLinks } from '../directory/runs'
import { importContext, recordStep, spent } from './context'
import { holdReason } from './safeguard'

/*
 * The end of every native run, whatever the source: once its listing is complete, the safeguard
 * decides whether the archives and removals it recorded may be applied; if so they are, in bounded
 * steps. Each function is one Workflow step.
 */

/** Holds the run (keeping its links for an approval) when its changes cross the safeguard. */
export async function safeguardStep(env: Env, integrationId: string, runId: string, links: RunLinks): Promise<{ held: boolean }> {
  const { db, row } = await importContext(env, integrationId)
  // The last boundary before anything is archived: a cancel that came after the last page stops here.
  await recordStep(db, runId, {})
  const reason = holdReason(row, row.activeUsers, await changeSummary(db, runId))
  if (reason === undefined) return { held: false }
  await holdRun(db, runId, reason, links)
  return { held: true }
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
