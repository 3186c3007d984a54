import { applyGroupPage, applyUserPage, type ImportedUser } from '../../directory/imports'
import { recordStep, spent, stepContext, type RunRef } from '../context'
import { membersBatch } from '../members'
import { readAs, SyncError } from '../errors'
import { missingScopeGroup } from '../scope'
import { googleFor } from '../source'
import { googleUserDoc, googleUserSchema, groupsPageSchema, memberRefs, membersPageSchema, usersPageSchema } from './map'

const GOOGLE = 'The Google Directory API'

/*
 * The steps of a Google import. Google has no delta API, so every run lists everything; what each
 * step returns (the ids it saw) lets the final sweep archive what the listing no longer contains.
 * A scoped run (src/sync/scope.ts) first lists its scope groups' members, derived ones included,
 * and then imports only the users and groups it found there.
 */

async function context(env: Env, run: RunRef) {
  const base = await stepContext(env, run)
  return { ...base, google: await googleFor(env, base.row) }
}

/** One page of users; with `scope`, only the users in it are imported (and listed). */
export async function googleUsersPage(env: Env, run: RunRef, pageToken: string | undefined, scope?: Set<string>, step?: string) {
  const { db, session, google, cost } = await context(env, run)
  const page = readAs(usersPageSchema, await google.users(pageToken), GOOGLE)
  const users = page.users.map((u) => readAs(googleUserSchema, u, GOOGLE)).filter((u) => !scope || scope.has(u.id))
  const items: ImportedUser[] = users.map((u) => ({ kind: 'user', sourceId: u.id, doc: googleUserDoc(u) }))
  const counts = await applyUserPage(session, run.runId, items, step)
  // Archives (suspended users) are counted once applied (src/sync/conclude.ts).
  await recordStep(db, run.runId, { ...spent(cost), pages: 1, usersCreated: counts.created, usersUpdated: counts.updated }, 'full')
  return { next: page.nextPageToken, ids: users.map((u) => u.id), report: counts.report }
}

/** One page of groups; with `scope`, only the groups in it. */
export async function googleGroupsPage(env: Env, run: RunRef, pageToken: string | undefined, scope?: Set<string>) {
  const { db, session, google, cost } = await context(env, run)
  const page = readAs(groupsPageSchema, await google.groups(pageToken), GOOGLE)
  const listed = page.groups.filter((g) => !scope || scope.has(g.id))
  const result = await applyGroupPage(
    session,
    run.runId,
    listed.map((g) => ({ kind: 'group', sourceId: g.id, displayName: g.name ?? g.email ?? g.id, added: [], removed: [] }))
  )
  await recordStep(db, run.runId, { ...spent(cost), pages: 1, groupsChanged: result.changed })
  return { next: page.nextPageToken, ids: listed.map((g) => g.id), changed: result.changedIds }
}

export async function googleMembersPage(env: Env, run: RunRef, groupId: string, pageToken: string | undefined) {
  const { db, google, cost } = await context(env, run)
  const page = readAs(membersPageSchema, await google.members(groupId, pageToken), GOOGLE)
  await recordStep(db, run.runId, { ...spent(cost), pages: 1 })
  return { next: page.nextPageToken, members: memberRefs(page.members) }
}

/** The direct members of groups[from…], a batch per step (src/sync/members.ts). */
export async function googleMembersBatch(env: Env, run: RunRef, groups: string[], from: number, counted: string[] = []) {
  const { db, session, google, cost } = await context(env, run)
  const batch = await membersBatch(
    session,
    async (group) => {
      const page = readAs(membersPageSchema, await google.members(group), GOOGLE)
      return { members: memberRefs(page.members), next: page.nextPageToken }
    },
    groups,
    from,
    counted
  )
  await recordStep(db, run.runId, { ...spent(cost), pages: batch.pages, groupsChanged: batch.changed })
  return { index: batch.index, spill: batch.spill }
}

/**
 * One page of a scope group's members, derived (nested) ones included: the ids of the users and
 * groups a scoped run imports. A scope group Google does not have stops the run.
 */
export async function googleScopePage(env: Env, run: RunRef, groupId: string, pageToken: string | undefined) {
  const { db, google, cost } = await context(env, run)
  const raw = await google.members(groupId, pageToken, { derived: true }).catch((e: unknown) => {
    throw e instanceof SyncError && e.kind === 'notFound' ? new SyncError(missingScopeGroup('Google Workspace', groupId), 'config') : e
  })
  const page = readAs(membersPageSchema, raw, GOOGLE)
  await recordStep(db, run.runId, { ...spent(cost), pages: 1 })
  const refs = memberRefs(page.members)
  return {
    next: page.nextPageToken,
    users: refs.filter((m) => m.type === 'User').map((m) => m.sourceId),
    groups: refs.filter((m) => m.type === 'Group').map((m) => m.sourceId),
  }
}
