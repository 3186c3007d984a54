import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createDb } from '../../src/directory/db'
import { getIntegration } from '../../src/directory/integrations'
import { startRun } from '../../src/sync/runs'
import { DirectorySyncWorkflow, type SyncParams } from '../../src/sync/workflow'
import { directoryState } from '../helpers/directory-state'
import { changeDirectory, connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { runSync, safeguardOff, usersDeltaLink } from '../helpers/sync'

/*
 * A step whose writes committed but whose result the platform never recorded (the instance was
 * evicted, or a deploy landed, between the two) runs again. Here every step of a Graph import runs
 * twice, its first result thrown away, as the Workflow would replay it: the directory, the delta
 * position and the change feed end as after a run where every step ran once.
 *
 * Not asserted, because it does not hold: the replayed run's own counts. A page run again finds
 * its users already written and counts them unchanged, so such a run reports fewer creations and
 * updates than it made (the feed has them all).
 */

type Callback = () => Promise<unknown>

/** A WorkflowStep whose every step runs, commits, and then runs again; only the second result counts. */
let replayed = 0
const replayingStep = {
  do: async (_name: string, a: unknown, b?: Callback) => {
    const callback = (typeof a === 'function' ? a : b) as Callback
    await callback()
    replayed++
    // A step's result crosses a serialisation boundary in the Workflows runtime.
    return JSON.parse(JSON.stringify((await callback()) ?? null))
  },
  sleep: async () => undefined,
  sleepUntil: async () => undefined,
  waitForEvent: async () => {
    throw new Error('not used by the sync')
  },
}

/** Starts a run the way the admin API does, but runs its Workflow here, with every step replayed. */
async function runReplayed(integrationId: string) {
  const db = createDb(env.DB)
  let params: SyncParams | undefined
  const workflow = {
    create: async (options: { id: string; params: SyncParams }) => {
      params = options.params
      return { id: options.id }
    },
  } as unknown as Workflow
  await startRun(db, workflow, await getIntegration(db, integrationId), 'manual')
  // The class as the runtime would drive it (workerd constructs Workflow entrypoints only itself).
  const instance = Object.create(DirectorySyncWorkflow.prototype, { env: { value: env } }) as DirectorySyncWorkflow
  const outcome = await instance.run(
    { payload: params!, timestamp: new Date(), instanceId: params!.runId } as never,
    replayingStep as never
  )
  expect(outcome).toEqual({ status: 'succeeded' })
}

describe('a Graph import whose every step runs twice', () => {
  it('ends, on the first run and an incremental one, where a run of single steps ends', { timeout: 60_000 }, async () => {
    const once = await connectTenant()
    const twice = await connectTenant()
    await Promise.all([seedDirectory(once.tenant), seedDirectory(twice.tenant), safeguardOff(once.id), safeguardOff(twice.id)])

    await runSync(once.id, 'succeeded')
    await runReplayed(twice.id)
    // Source and scope, plan, pages of users and groups, finish listing, safeguard, apply, finish.
    expect(replayed).toBeGreaterThanOrEqual(10)
    expect(await directoryState(twice.id, twice.scim)).toEqual(await directoryState(once.id, once.scim))

    await changeDirectory(once.tenant)
    await changeDirectory(twice.tenant)
    await runSync(once.id, 'succeeded')
    await runReplayed(twice.id)
    const final = await directoryState(twice.id, twice.scim)
    expect(final).toEqual(await directoryState(once.id, once.scim))
    expect(final.users).toContain('bob@contoso.com true Robert Lead')
    expect(final.users).toContain('dee@contoso.com false Dee ')
    expect(String(await usersDeltaLink(twice.id)).replaceAll(twice.tenant, '')).toBe(
      String(await usersDeltaLink(once.id)).replaceAll(once.tenant, '')
    )
  })
})
