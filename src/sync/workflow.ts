import { NonRetryableError } from 'cloudflare:workflows'
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from 'cloudflare:workers'
import { config as settings } from '../config'
import { createDb } from '../directory/db'
import type { GroupPageResult } from '../directory/imports'
import { getIntegration } from '../directory/integrations'
import { googleGroupsPage, googleMembersBatch, googleMembersPage, googleScopePage, googleUsersPage } from './google/import'
import { graphMembersBatch, graphMembersPage, graphScopeGroup, graphScopePage } from './graph/scope'
import { setMembersStep, type MemberRef, type MembersPage } from './members'
import { OUT_OF_SCOPE, scopeOf } from './scope'
import { graphFinishListing, graphGroupsPage, graphUsersPage, planGraphRun, type PageOutcome } from './graph/import'
import { finishRun, getRun, heldLinks, recordFailureKind, type RunLinks } from '../directory/runs'
import { applyStep, previewStep, safeguardStep, sweepStep } from './conclude'
import { RUN_CANCELLED, type RunRef } from './context'
import { addReport, emptyReport, type RunReport } from '../directory/run-report'
import { kickWebhooks } from '../webhooks/queue'
import { SyncError } from './errors'

type Steps = Pick<WorkflowStep, 'do'>

/**
 * The Workflow's steps, each one followed, inside the step, by a wake-up of the webhook deliverer:
 * a step's writes are events to deliver. Inside, so that a replay of finished steps kicks nothing.
 * A step that fails for good (a permanent SyncError) is not retried, and records what kind of failure it was.
 */
function kicking(step: WorkflowStep, env: Env, runId: string): Steps {
  const after =
    <T>(fn: () => Promise<T>) =>
    async () => {
      const result = await fn().catch(async (e: unknown) => {
        if (!(e instanceof SyncError) || !e.failure) throw e
        // Recorded here: past the step boundary the failure is only its message.
        await recordFailureKind(createDb(env.DB), runId, e.failure).catch((r: unknown) =>
          console.error('recording the failure kind failed', String(r))
        )
        throw new NonRetryableError(e.message)
      })
      await kickWebhooks(env)
      return result
    }
  // Both overloads of step.do: (name, callback) and (name, config, callback).
  const run = (name: string, a: WorkflowStepConfig | (() => Promise<unknown>), b?: () => Promise<unknown>) =>
    typeof a === 'function' ? step.do(name, after(a) as never) : step.do(name, a, after(b!) as never)
  return { do: run as WorkflowStep['do'] }
}

export interface SyncParams {
  integrationId: string
  runId: string
  /** An admin approved the held run: this instance only applies what it recorded, then finishes it. */
  approved?: boolean
  /** Lists and reports what a real run would change, writing no directory row. */
  dryRun?: boolean
}

/** Pending nested-group memberships carried between steps; beyond this they wait for the next run. */
const MAX_PENDING = 5000

/**
 * One import run of a native integration (Entra through Microsoft Graph, or Google Workspace). Every page is a durable step: a crash or a deploy resumes
 * at the first unfinished page, a failing page is retried with backoff, and a run that cannot finish
 * ends failed with the reason, having archived and removed nothing (archives and removals are
 * recorded during the listing and applied only after it, once the safeguard lets them; delta links
 * advance only when the whole run succeeded).
 */
export class DirectorySyncWorkflow extends WorkflowEntrypoint<Env, SyncParams> {
  override async run(event: WorkflowEvent<SyncParams>, workflowStep: WorkflowStep) {
    const { integrationId, runId } = event.payload
    const run: RunRef = { integrationId, runId, ...(event.payload.dryRun ? { dryRun: true } : {}) }
    // What the listing finds, added up from the steps' outputs (so a resumed run adds the same).
    const report = emptyReport()
    const env = this.env
    const step = kicking(workflowStep, env, runId)
    const config: WorkflowStepConfig = {
      retries: {
        limit: settings(env).sync.stepRetries,
        delay: settings(env).sync.stepDelay,
        backoff: 'exponential',
      },
      timeout: '10 minutes',
    }
    try {
      if (event.payload.approved) {
        await this.apply(step, config, integrationId, runId)
        await step.do('finish', config, async () => {
          const db = createDb(env.DB)
          const run = await getRun(db, integrationId, runId)
          await finishRun(db, runId, { integrationId, ...(run ? heldLinks(run) : {}) })
        })
        return { status: 'succeeded' }
      }
      const { kind, scope } = await step.do('source and scope', config, async () => {
        const row = await getIntegration(createDb(env.DB), integrationId)
        return { kind: row.kind, scope: scopeOf(row) ?? null }
      })
      const links =
        kind === 'google'
          ? await this.google(step, config, run, report, scope)
          : scope
            ? await this.graphScoped(step, config, run, report, scope)
            : await this.graph(step, config, run, report)
      if (run.dryRun) {
        await step.do('preview', config, () => previewStep(env, run, report))
        return { status: 'succeeded' }
      }
      // The listing is complete: the safeguard decides whether its archives and removals may go.
      const { held } = await step.do('safeguard', config, () => safeguardStep(env, run, links, report))
      if (held) return { status: 'held' }
      await this.apply(step, config, integrationId, runId)
      await step.do('finish', config, () => finishRun(createDb(env.DB), runId, { integrationId, ...links }))
      return { status: 'succeeded' }
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e)
      if (error.includes(RUN_CANCELLED)) {
        await step.do('record cancel', () => finishRun(createDb(env.DB), runId, { cancelled: true }, report))
        return { status: 'cancelled' }
      }
      await step.do('record failure', () => finishRun(createDb(env.DB), runId, { error }, report))
      return { status: 'failed', error }
    }
  }

  /** The archives and removals the run recorded, applied slice by slice. */
  private async apply(step: Steps, config: WorkflowStepConfig, integrationId: string, runId: string) {
    for (let n = 0, after: string | null = ''; after !== null; n++) {
      const from: string = after
      after = await step.do(`apply changes ${n}`, config, () => applyStep(this.env, integrationId, runId, from))
    }
  }

  /** Entra: delta listings of users then groups (members come as members@delta); returns where they ended. */
  private async graph(step: Steps, config: WorkflowStepConfig, run: RunRef, report: RunReport): Promise<RunLinks> {
    const env = this.env
    const plan = await step.do('plan', config, () => planGraphRun(env, run))
    const pending: GroupPageResult['pending'] = []
    // Groups counted as changed so far (step outputs, so a resumed run counts the same).
    const counted: string[] = []
    const walk = async (kind: 'users' | 'groups', start: string, startFull: boolean, fresh: string) => {
      let url = start
      let full = startFull
      let resyncs = 0
      // What a full listing contained, page by page, for the sweep (step outputs survive a resume).
      let listed: string[] = []
      for (let n = 0; ; n++) {
        const name = `${kind}${resyncs ? ` resync ${resyncs}` : ''} ${full ? 'full' : 'delta'} page ${n}`
        const outcome: PageOutcome = await step.do(name, config, () =>
          kind === 'users' ? graphUsersPage(env, run, url, full, name) : graphGroupsPage(env, run, url, full, counted)
        )
        if (outcome.expired) {
          // The delta token expired (410 / syncStateNotFound): list everything again.
          if (++resyncs > 2) throw new Error(`Microsoft Graph kept expiring the ${kind} delta token; try again later.`)
          url = fresh
          full = true
          listed = []
          n = -1
          continue
        }
        if (full) listed.push(...(outcome.listed ?? []))
        addReport(report, outcome.report)
        counted.push(...(outcome.changed ?? []))
        for (const p of outcome.pending ?? []) if (pending.length < MAX_PENDING) pending.push(p)
        if (outcome.deltaLink) return { deltaLink: outcome.deltaLink, listed: full ? listed : undefined }
        if (!outcome.next) throw new Error(`Microsoft Graph ended the ${kind} listing without a deltaLink.`)
        url = outcome.next
      }
    }
    // Users first, so group pages find the members they name.
    const users = await walk('users', plan.users, plan.usersFull, plan.freshUsers)
    const groups = await walk('groups', plan.groups, plan.groupsFull, plan.freshGroups)
    const unlisted = await step.do('finish listing', config, () =>
      graphFinishListing(env, run, pending, {
        ...(users.listed ? { users: users.listed } : {}),
        ...(groups.listed ? { groups: groups.listed } : {}),
      })
    )
    addReport(report, unlisted)
    return { usersDeltaLink: users.deltaLink, groupsDeltaLink: groups.deltaLink }
  }

  /**
   * Sets the members of `groups` from a source that lists them (src/sync/members.ts): small groups
   * a batch per step; a group with several pages of members page by page, then set at once.
   */
  private async members(
    step: Steps,
    config: WorkflowStepConfig,
    run: RunRef,
    groups: string[],
    source: {
      batch: (groups: string[], from: number) => Promise<{ index: number; spill?: { members: MemberRef[]; next: string } | undefined }>
      page: (group: string, next: string) => Promise<MembersPage>
    },
    /** Groups an earlier step of this run counted as changed: setting their members does not count them again. */
    counted: string[]
  ) {
    for (let index = 0, batch = 0; index < groups.length; batch++) {
      const from = index
      const { index: stopped, spill } = await step.do(`members batch ${batch}`, config, () => source.batch(groups, from))
      index = stopped
      if (!spill) continue
      const group = groups[index]!
      const members = [...spill.members]
      for (let n = 0, next: string | undefined = spill.next; next; n++) {
        const at: string = next
        const page = await step.do(`members of ${group} page ${n}`, config, () => source.page(group, at))
        members.push(...page.members)
        next = page.next
      }
      await step.do(`set members of ${group}`, config, () => setMembersStep(this.env, run, group, members, counted))
      index++
    }
  }

  /**
   * An Entra import scoped to source groups (src/sync/scope.ts): each scope group and everyone in
   * it however nested, then the imported groups' members, then the sweep of whoever left the scope.
   */
  private async graphScoped(step: Steps, config: WorkflowStepConfig, run: RunRef, report: RunReport, scope: string[]): Promise<RunLinks> {
    const env = this.env
    const users = new Set<string>()
    const groups = new Set<string>(scope)
    const counted: string[] = []
    for (const [g, group] of scope.entries()) {
      // `?? []`: a run that started before steps returned what they counted resumes from their old outputs.
      counted.push(...((await step.do(`scope group ${g}`, config, () => graphScopeGroup(env, run, group)))?.changed ?? []))
      let url: string | undefined
      for (let n = 0; ; n++) {
        const from = url
        const name = `scope group ${g} page ${n}`
        const page = await step.do(name, config, () => graphScopePage(env, run, group, from, name))
        page.users.forEach((u) => users.add(u))
        page.groups.forEach((id) => groups.add(id))
        counted.push(...(page.changed ?? []))
        addReport(report, page.report)
        if (!page.next) break
        url = page.next
      }
    }
    await this.members(
      step,
      config,
      run,
      [...groups],
      {
        batch: (listed, from) => graphMembersBatch(env, run, listed, from, counted),
        page: (_group, next) => graphMembersPage(env, run, next),
      },
      counted
    )
    addReport(report, await step.do('sweep', config, () => sweepStep(env, run, [...users], [...groups], OUT_OF_SCOPE)))
    return {}
  }

  /**
   * Google: no delta API, so users, groups and each group's members are listed in full; the sweep
   * then archives what the listing no longer contains. Each page is a step; a group's members are
   * set once all its pages are read. A scoped run first lists its scope groups' members.
   */
  private async google(step: Steps, config: WorkflowStepConfig, run: RunRef, report: RunReport, scope: string[] | null): Promise<RunLinks> {
    const env = this.env
    const listed = async <R extends { next?: string | undefined }>(
      name: string,
      page: (token: string | undefined, step: string) => Promise<R>
    ): Promise<R[]> => {
      const pages: R[] = []
      let token: string | undefined
      for (let n = 0; ; n++) {
        // Page outcomes are plain JSON (ids and a page token); the cast only bridges the generic.
        const stepName = `${name} page ${n}`
        const result = (await step.do(stepName, config, () => page(token, stepName) as Promise<never>)) as R
        pages.push(result)
        if (!result.next) return pages
        token = result.next
      }
    }
    let inScope: { users: Set<string>; groups: Set<string> } | undefined
    if (scope) {
      inScope = { users: new Set(), groups: new Set(scope) }
      for (const [g, group] of scope.entries())
        for (const page of await listed(`scope group ${g}`, (t) => googleScopePage(env, run, group, t))) {
          page.users.forEach((u) => inScope!.users.add(u))
          page.groups.forEach((id) => inScope!.groups.add(id))
        }
    }
    const userPages = await listed('users', (t, name) => googleUsersPage(env, run, t, inScope?.users, name))
    for (const page of userPages) addReport(report, page.report)
    const users = userPages.flatMap((p) => p.ids)
    const groupPages = await listed('groups', (t) => googleGroupsPage(env, run, t, inScope?.groups))
    const groups = groupPages.flatMap((p) => p.ids)
    const counted = groupPages.flatMap((p) => p.changed ?? [])
    await this.members(
      step,
      config,
      run,
      groups,
      {
        batch: (listed, from) => googleMembersBatch(env, run, listed, from, counted),
        page: (group, next) => googleMembersPage(env, run, group, next),
      },
      counted
    )
    addReport(report, await step.do('sweep', config, () => sweepStep(env, run, users, groups, scope ? OUT_OF_SCOPE : undefined)))
    return {}
  }
}
