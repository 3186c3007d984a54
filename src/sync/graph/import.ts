import {
  applyGroupPage,
  applyPendingMembers,
  applyUserPage,
  type GroupPageResult,
  type ImportedGroup,
  type ImportedUser,
} from '../../directory/imports'
import { recordUnlisted } from '../../directory/run-changes'
import { DeltaExpired } from '../errors'
import { recordStep, spent, stepContext, type RunRef } from '../context'
import type { RunReport } from '../../directory/run-report'
import { graphFor } from '../source'
import { groupItem, missingUserName, userItem, userPatch, type UserNameFrom } from './map'

/*
 * The steps of an Entra import, each small enough for one Workflow step: fetch one Graph page, write
 * it in one D1 batch, record progress. They run in a fresh Worker invocation each time, so all they
 * share is what they return (the next link).
 */

/** `listed`: on a full listing, the source ids the page contained, for the sweep after a complete one. */
export type PageOutcome =
  | { expired: true }
  | {
      expired?: false
      next?: string
      deltaLink?: string
      pending?: GroupPageResult['pending']
      listed?: string[]
      report?: RunReport
      /** Groups this page counted as changed, for later pages not to count again. */
      changed?: string[]
    }

export const listedIds = (items: (ImportedUser | ImportedGroup)[]) => items.flatMap((i) => (i.kind === 'removed' ? [] : [i.sourceId]))

export async function context(env: Env, run: RunRef) {
  const base = await stepContext(env, run)
  return { ...base, graph: await graphFor(env, base.row) }
}

/** Where the run starts: the saved delta links, or full listings when there are none. */
export async function planGraphRun(env: Env, run: RunRef) {
  const { row, graph } = await context(env, run)
  return {
    users: row.usersDeltaLink ?? graph.usersDelta(),
    usersFull: !row.usersDeltaLink,
    groups: row.groupsDeltaLink ?? graph.groupsDelta(),
    groupsFull: !row.groupsDeltaLink,
    freshUsers: graph.usersDelta(),
    freshGroups: graph.groupsDelta(),
  }
}

async function fetchPage(graph: Awaited<ReturnType<typeof context>>['graph'], url: string) {
  try {
    return await graph.get(url)
  } catch (e) {
    if (e instanceof DeltaExpired) return undefined
    throw e
  }
}

/** Graph user items as the directory imports them, under the integration's userName source. */
export const importedUsers = (value: Record<string, unknown>[], from: UserNameFrom): ImportedUser[] =>
  value.map(userItem).map((i): ImportedUser => {
    if (i.kind === 'removed') return { kind: 'removed', sourceId: i.id, reason: i.reason }
    const missing = missingUserName(i.user, from)
    if (missing) return { kind: 'skipped', sourceId: i.user.id, userName: i.user.userPrincipalName ?? null, reason: missing }
    return { kind: 'user', sourceId: i.user.id, doc: userPatch(i.user, from), partial: true }
  })

/** `step`: the Workflow step's name, which marks what it writes so a replay of it reports the same (applyUserPage). */
export async function graphUsersPage(env: Env, run: RunRef, url: string, full: boolean, step?: string): Promise<PageOutcome> {
  const { db, row, session, graph, cost } = await context(env, run)
  const page = await fetchPage(graph, url)
  if (!page) return { expired: true }
  const items = importedUsers(page.value, row.userNameFrom)
  const counts = await applyUserPage(session, run.runId, items, step)
  // Archives and removals are counted once applied (src/sync/conclude.ts).
  await recordStep(
    db,
    run.runId,
    { ...spent(cost), pages: 1, usersCreated: counts.created, usersUpdated: counts.updated },
    full ? 'full' : 'delta'
  )
  return {
    next: page['@odata.nextLink'],
    deltaLink: page['@odata.deltaLink'],
    report: counts.report,
    ...(full ? { listed: listedIds(items) } : {}),
  }
}

/**
 * `counted`: groups earlier pages of the run counted as changed. A group with many members comes as
 * several items, often on several pages; it is counted once.
 */
export async function graphGroupsPage(env: Env, run: RunRef, url: string, full: boolean, counted: string[] = []): Promise<PageOutcome> {
  const { db, session, graph, cost } = await context(env, run)
  const page = await fetchPage(graph, url)
  if (!page) return { expired: true }
  const items: ImportedGroup[] = page.value.flatMap((raw): ImportedGroup[] => {
    const g = groupItem(raw)
    if (!g) return []
    if (g.kind === 'removed') return [{ kind: 'removed', sourceId: g.id }]
    return [
      {
        kind: 'group',
        sourceId: g.id,
        ...(g.displayName ? { displayName: g.displayName } : {}),
        added: g.added.map((a) => ({ sourceId: a.id, type: a.type })),
        removed: g.removed,
      },
    ]
  })
  const result = await applyGroupPage(session, run.runId, items)
  const already = new Set(counted)
  const changed = result.changedIds.filter((g) => !already.has(g))
  await recordStep(db, run.runId, { ...spent(cost), pages: 1, groupsChanged: changed.length }, full ? 'full' : 'delta')
  return {
    next: page['@odata.nextLink'],
    deltaLink: page['@odata.deltaLink'],
    pending: result.pending,
    changed,
    ...(full ? { listed: listedIds(items) } : {}),
  }
}

export async function graphFinishListing(
  env: Env,
  run: RunRef,
  pending: GroupPageResult['pending'],
  /** The ids each kind's listing contained, for a kind that was listed in full and completed. */
  listed: { users?: string[]; groups?: string[] }
): Promise<RunReport | undefined> {
  const { db, session, cost } = await stepContext(env, run)
  if (pending.length > 0) await applyPendingMembers(session, pending)
  const unlisted =
    listed.users || listed.groups
      ? await recordUnlisted(session, run.runId, {
          ...(listed.users ? { users: new Set(listed.users) } : {}),
          ...(listed.groups ? { groups: new Set(listed.groups) } : {}),
        })
      : undefined
  await recordStep(db, run.runId, spent(cost))
  return unlisted?.report
}
