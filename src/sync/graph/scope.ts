import { applyGroupPage, applyUserPage } from '../../directory/imports'
import { recordStep, spent, type RunRef } from '../context'
import { SyncError } from '../errors'
import { membersBatch, type MemberRef, type MembersPage } from '../members'
import { missingScopeGroup } from '../scope'
import type { GraphClient } from './client'
import { context, importedUsers, listedIds } from './import'

/*
 * The steps of a scoped Entra import (src/sync/scope.ts): each scope group, everyone in it however
 * nested (/groups/{id}/transitiveMembers: users imported as they come, nested groups collected),
 * then the direct members of every imported group. No delta: the scope is listed in full each run.
 */

const USER = '#microsoft.graph.user'
const GROUP = '#microsoft.graph.group'

/** A scope group Graph does not have is named, not taken for an empty one (which would archive its members). */
const scopeGroupMissing = (id: string) => (e: unknown) => {
  throw e instanceof SyncError && e.kind === 'notFound' ? new SyncError(missingScopeGroup('Microsoft Entra ID', id), 'config') : e
}

const groupItems = (value: Record<string, unknown>[]) =>
  value.map((g) => ({
    kind: 'group' as const,
    sourceId: String(g.id),
    ...(typeof g.displayName === 'string' && g.displayName ? { displayName: g.displayName } : {}),
    added: [],
    removed: [],
  }))

/** Imports the scope group itself. */
export async function graphScopeGroup(env: Env, run: RunRef, groupId: string) {
  const { db, session, graph, cost } = await context(env, run)
  const group = await graph.getObject(graph.group(groupId)).catch(scopeGroupMissing(groupId))
  const result = await applyGroupPage(session, run.runId, groupItems([group]))
  await recordStep(db, run.runId, { ...spent(cost), pages: 1, groupsChanged: result.changed })
  return { changed: result.changedIds }
}

/** One page of a scope group's transitive members: its users imported, its nested groups imported and returned. */
export async function graphScopePage(env: Env, run: RunRef, groupId: string, url: string | undefined, step?: string) {
  const { db, row, session, graph, cost } = await context(env, run)
  const page = await graph.get(url ?? graph.transitiveMembers(groupId)).catch(scopeGroupMissing(groupId))
  const items = importedUsers(
    page.value.filter((o) => o['@odata.type'] === USER),
    row.userNameFrom
  )
  const nested = groupItems(page.value.filter((o) => o['@odata.type'] === GROUP))
  const counts = await applyUserPage(session, run.runId, items, step)
  const groups = nested.length > 0 ? await applyGroupPage(session, run.runId, nested) : { changed: 0, changedIds: [] }
  await recordStep(
    db,
    run.runId,
    { ...spent(cost), pages: 1, usersCreated: counts.created, usersUpdated: counts.updated, groupsChanged: groups.changed },
    'full'
  )
  return {
    next: page['@odata.nextLink'],
    users: listedIds(items),
    groups: nested.map((g) => g.sourceId),
    changed: groups.changedIds,
    report: counts.report,
  }
}

/** A page of a group's direct members (users and groups; contacts and devices are not members here). */
async function membersPage(graph: GraphClient, url: string): Promise<MembersPage> {
  const page = await graph.get(url)
  const members = page.value.flatMap((o): MemberRef[] =>
    o['@odata.type'] === USER || o['@odata.type'] === GROUP
      ? [{ sourceId: String(o.id), type: o['@odata.type'] === GROUP ? 'Group' : 'User' }]
      : []
  )
  return { members, next: page['@odata.nextLink'] }
}

export async function graphMembersBatch(env: Env, run: RunRef, groups: string[], from: number, counted: string[] = []) {
  const { db, session, graph, cost } = await context(env, run)
  const batch = await membersBatch(session, (group) => membersPage(graph, graph.members(group)), groups, from, counted)
  await recordStep(db, run.runId, { ...spent(cost), pages: batch.pages, groupsChanged: batch.changed })
  return { index: batch.index, spill: batch.spill }
}

/** A further page of one group's members (`next`: the link the last page gave). */
export async function graphMembersPage(env: Env, run: RunRef, next: string) {
  const { db, graph, cost } = await context(env, run)
  const page = await membersPage(graph, next)
  await recordStep(db, run.runId, { ...spent(cost), pages: 1 })
  return page
}
