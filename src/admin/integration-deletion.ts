import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers'
import { deleteToken } from '../auth/token-store'
import { config } from '../config'
import { createDb } from '../directory/db'
import { beginDeletion, deletionStep, pendingDeletions, setDeletionInstance, type Deletion } from '../directory/deletion'
import { failDeadRun, lastRun } from '../directory/runs'
import { ALIVE } from '../sync/runs'
import { instanceStatus, startInstance, terminateInstance } from '../sync/instances'
import { kickWebhooks } from '../webhooks/queue'

/*
 * DELETE /api/v1/integrations/:id end to end: the request marks the integration (its token dead at
 * once) and does a few bounded steps itself; an integration too large for that is carried on by
 * a Workflow, one durable step per slice, and the cron restarts a Workflow that died.
 */

/** Steps the request itself does before handing over to the Workflow. */
const INLINE_STEPS = 4
/** Deletion steps one Workflow step runs (each a D1 batch): well inside one invocation's limits. */
const STEPS_PER_WORKFLOW_STEP = 10

export const deletionView = (id: string, d: Deletion) => ({
  id,
  status: 'deleting' as const,
  progress: { startedAt: d.startedAt, removedUsers: d.removedUsers, keptUsers: d.keptUsers, removedGroups: d.removedGroups },
})

const doneView = (id: string, d: Deletion | null) => ({
  id,
  status: 'deleted' as const,
  removedUsers: d?.removedUsers ?? 0,
  keptUsers: d?.keptUsers ?? 0,
  removedGroups: d?.removedGroups ?? 0,
})

/**
 * Deletes an integration: 200 with the counts when it finished within the request, otherwise 202
 * with its progress (GET /api/v1/integrations/:id shows it until it is gone, then 404).
 */
export async function deleteIntegration(env: Env, d1: D1Database, id: string) {
  const { tokenHash, deletion } = await beginDeletion(d1, id)
  await Promise.all([deleteToken(env.TOKENS, tokenHash), stopSync(env, id)])
  const size = config(env).deletionStepUsers
  let state: Deletion | null = deletion
  for (let i = 0; i < INLINE_STEPS; i++) {
    const step = await deletionStep(d1, id, size)
    if (step.done) return { status: 200 as const, body: doneView(id, step.deletion ?? state) }
    state = step.deletion
  }
  await startWorkflow(env, id)
  return { status: 202 as const, body: deletionView(id, state ?? deletion) }
}

/** A sync still running for the integration is ended: nothing may write to it any more. */
async function stopSync(env: Env, id: string) {
  const db = createDb(env.DB)
  const run = await lastRun(db, id)
  if (run?.status !== 'running') return
  await terminateInstance(env.SYNC, run.instanceId ?? run.id)
  await failDeadRun(db, run.id, 'The integration was deleted while this run was going.')
}

async function startWorkflow(env: Env, id: string) {
  const instanceId = await startInstance(env.DELETION, { id: `delete-${id}-${Date.now()}`, params: { integrationId: id } })
  await setDeletionInstance(env.DB, id, instanceId)
}

/** The cron's part: a deletion whose Workflow is no longer alive (a deploy, exhausted retries) starts again. */
export async function resumeDeletions(env: Env): Promise<string[]> {
  const resumed: string[] = []
  for (const { id, deletion } of await pendingDeletions(env.DB)) {
    const status = deletion.instanceId ? await instanceStatus(env.DELETION, deletion.instanceId) : 'missing'
    if (ALIVE.has(status)) continue
    await startWorkflow(env, id)
    resumed.push(id)
  }
  return resumed
}

export class IntegrationDeletionWorkflow extends WorkflowEntrypoint<Env, { integrationId: string }> {
  override async run(event: WorkflowEvent<{ integrationId: string }>, step: WorkflowStep) {
    const { integrationId } = event.payload
    const size = config(this.env).deletionStepUsers
    for (let n = 0; ; n++) {
      // Each step is its own transaction and resumes from the state in D1, so a retried one is safe.
      const done = await step.do(`slice ${n}`, { retries: { limit: 5, delay: '5 seconds', backoff: 'exponential' } }, async () => {
        let finished = false
        for (let i = 0; i < STEPS_PER_WORKFLOW_STEP && !finished; i++)
          finished = (await deletionStep(this.env.DB, integrationId, size)).done
        // Its removals are events for the webhooks.
        await kickWebhooks(this.env)
        return finished
      })
      if (done) return { status: 'deleted' }
    }
  }
}
