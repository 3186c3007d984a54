import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createDb } from '../../src/directory/db'
import { getIntegration } from '../../src/directory/integrations'
import { startRun } from '../../src/sync/runs'
import { DirectorySyncWorkflow, type SyncParams } from '../../src/sync/workflow'
import { directoryState } from '../helpers/directory-state'
import { changeDirectory, connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { runSync, safeguardOff, usersDeltaLink } from '../helpers/sync'
import { admin } from '../helpers/http'

/*
 * A step whose writes committed but whose result the platform never recorded (the instance was
 * evicted, or a deploy landed, between the two) runs again. Here every step of a Graph import runs
 * twice, its first result thrown away, as the Workflow would replay it: the directory, the delta
 * position and the change feed end as after a run where every step ran once.
 *
 * And the same import with D1 failing inside its steps, before a batch runs or after it committed:
 * each step is retried, and the run ends where an undisturbed one ends.
 *
 * The run's own report and user counts end the same too: a page run again finds its users already
 * written, and reports them as the step did the first time, since it marked them (users.import_step).
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

/** A WorkflowStep that retries a failing step at once, as the platform does after its delay. */
let retried = 0
const retryingStep = {
  ...replayingStep,
  do: async (_name: string, a: unknown, b?: Callback) => {
    const callback = (typeof a === 'function' ? a : b) as Callback
    for (let attempt = 1; ; attempt++)
      try {
        return JSON.parse(JSON.stringify((await callback()) ?? null))
      } catch (e) {
        if (attempt === 10) throw e
        retried++
      }
  },
}

/**
 * D1 that fails one batch in four, drawn from a seeded sequence: alternately before it runs
 * (nothing written) and after it committed (the answer lost), so a step that writes in several
 * batches stops between them.
 */
function flakyD1(): D1Database {
  let seed = 7
  let n = 0
  const draw = () => ((seed = (seed * 48271) % 2147483647) % 4 === 0 ? (n++ % 2 ? 'after' : 'before') : undefined)
  const failing = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop === 'batch')
          return async (statements: D1PreparedStatement[]) => {
            const fault = draw()
            if (fault === 'before') throw new Error('D1_ERROR: Network connection lost.')
            const result = await (t as unknown as D1Database).batch(statements)
            if (fault === 'after') throw new Error('D1_ERROR: Network connection lost.')
            return result
          }
        // The directory writes through D1 sessions: theirs fail alike.
        if (prop === 'withSession') return (...args: unknown[]) => failing((t as unknown as D1Database).withSession(...(args as [])))
        const value = Reflect.get(t, prop)
        return typeof value === 'function' ? value.bind(t) : value
      },
    })
  return failing(env.DB)
}

/** Starts a run the way the admin API does, but runs its Workflow here, with `step` and `db`. */
async function runHere(integrationId: string, step: typeof replayingStep, d1: D1Database = env.DB) {
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
  const instance = Object.create(DirectorySyncWorkflow.prototype, { env: { value: { ...env, DB: d1 } } }) as DirectorySyncWorkflow
  const outcome = await instance.run({ payload: params!, timestamp: new Date(), instanceId: params!.runId } as never, step as never)
  expect(outcome).toEqual({ status: 'succeeded' })
}

/** What the integration's last run reported of its users: the counts and the report. */
async function reported(integrationId: string) {
  const { counts, report } = (await admin('GET', `/integrations/${integrationId}`)).body.lastSync
  return { usersCreated: counts.usersCreated, usersUpdated: counts.usersUpdated, usersArchived: counts.usersArchived, report }
}

/**
 * Two tenants seeded alike: one synced as usual, the other by `disturbed`; a first run, then the
 * same changes to both and an incremental run. After each, both hold the same directory and feed,
 * and both end at the same delta position. Returns the disturbed side's final state.
 */
async function besideAnUndisturbedRun(disturbed: (integrationId: string) => Promise<void>) {
  const calm = await connectTenant()
  const other = await connectTenant()
  await Promise.all([seedDirectory(calm.tenant), seedDirectory(other.tenant), safeguardOff(calm.id), safeguardOff(other.id)])
  for (const round of ['first', 'incremental']) {
    if (round === 'incremental') await Promise.all([changeDirectory(calm.tenant), changeDirectory(other.tenant)])
    await runSync(calm.id, 'succeeded')
    await disturbed(other.id)
    expect(await directoryState(other.id, other.scim)).toEqual(await directoryState(calm.id, calm.scim))
    const [was, is] = await Promise.all([reported(calm.id), reported(other.id)])
    expect(is, round).toEqual(was)
  }
  expect(String(await usersDeltaLink(other.id)).replaceAll(other.tenant, '')).toBe(
    String(await usersDeltaLink(calm.id)).replaceAll(calm.tenant, '')
  )
  return directoryState(other.id, other.scim)
}

describe('a Graph import whose every step runs twice', () => {
  it('ends, on the first run and an incremental one, where a run of single steps ends', { timeout: 60_000 }, async () => {
    const final = await besideAnUndisturbedRun((id) => runHere(id, replayingStep))
    // Two runs of: source and scope, plan, pages of users and groups, finish listing, safeguard, apply, finish.
    expect(replayed).toBeGreaterThanOrEqual(20)
    expect(final.users).toContain('bob@contoso.com true Robert Lead')
    expect(final.users).toContain('dee@contoso.com false Dee ')
  })
})

describe('a Graph import whose D1 batches fail inside its steps', () => {
  it('ends, after each step is retried, where an undisturbed run ends', { timeout: 60_000 }, async () => {
    await besideAnUndisturbedRun((id) => runHere(id, retryingStep, flakyD1()))
    // The failures happened, and the steps went on past them.
    expect(retried).toBeGreaterThanOrEqual(4)
  })
})
