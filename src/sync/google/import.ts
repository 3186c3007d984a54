import { applyGroupPage, applyUserPage, replaceGroupMembers, type ImportedUser } from '../../directory/imports'
import { recordUnlisted } from '../../directory/run-changes'
import { recordStep, spent, stepContext, type RunRef } from '../context'
import { googleFor } from '../source'
import { googleUserDoc, googleUserSchema, groupsPageSchema, memberRefs, membersPageSchema, usersPageSchema } from './map'

/*
 * The steps of a Google import. Google has no delta API, so every run lists everything; what each
 * step returns (the ids it saw) lets the final sweep archive what the listing no longer contains.
 */

async function context(env: Env, run: RunRef) {
  const base = await stepContext(env, run)
  return { ...base, google: await googleFor(env, base.row) }
}

export async function googleUsersPage(env: Env, run: RunRef, pageToken: string | undefined) {
  const { db, session, google, cost } = await context(env, run)
  const page = usersPageSchema.parse(await google.users(pageToken))
  const users = page.users.map((u) => googleUserSchema.parse(u))
  const items: ImportedUser[] = users.map((u) => ({ kind: 'user', sourceId: u.id, doc: googleUserDoc(u) }))
  const counts = await applyUserPage(session, run.runId, items)
  // Archives (suspended users) are counted once applied (src/sync/conclude.ts).
  await recordStep(db, run.runId, { ...spent(cost), pages: 1, usersCreated: counts.created, usersUpdated: counts.updated }, 'full')
  return { next: page.nextPageToken, ids: users.map((u) => u.id), report: counts.report }
}

export async function googleGroupsPage(env: Env, run: RunRef, pageToken: string | undefined) {
  const { db, session, google, cost } = await context(env, run)
  const page = groupsPageSchema.parse(await google.groups(pageToken))
  const result = await applyGroupPage(
    session,
    run.runId,
    page.groups.map((g) => ({ kind: 'group', sourceId: g.id, displayName: g.name ?? g.email ?? g.id, added: [], removed: [] }))
  )
  await recordStep(db, run.runId, { ...spent(cost), pages: 1, groupsChanged: result.changed })
  return { next: page.nextPageToken, ids: page.groups.map((g) => g.id) }
}

export async function googleMembersPage(env: Env, run: RunRef, groupId: string, pageToken: string | undefined) {
  const { db, google, cost } = await context(env, run)
  const page = membersPageSchema.parse(await google.members(groupId, pageToken))
  await recordStep(db, run.runId, { ...spent(cost), pages: 1 })
  return { next: page.nextPageToken, members: memberRefs(page.members) }
}

/** Groups whose members one step reads and applies, when each fits in one page. */
export const GROUPS_PER_STEP = 40

/**
 * Reads and applies the members of groups[from…] while each group fits in one page (at most
 * GROUPS_PER_STEP of them). Stops at a group with more pages and returns its first page, for the
 * Workflow to page through step by step.
 */
export async function googleMembersBatch(env: Env, run: RunRef, groups: string[], from: number) {
  const { db, session, google, cost } = await context(env, run)
  let index = from
  let pages = 0
  let changed = 0
  let spill: { members: ReturnType<typeof memberRefs>; next: string } | undefined
  while (index < groups.length && index < from + GROUPS_PER_STEP) {
    const page = membersPageSchema.parse(await google.members(groups[index]!))
    pages++
    if (page.nextPageToken) {
      spill = { members: memberRefs(page.members), next: page.nextPageToken }
      break
    }
    if ((await replaceGroupMembers(session, groups[index]!, memberRefs(page.members))) > 0) changed++
    index++
  }
  await recordStep(db, run.runId, { ...spent(cost), pages, groupsChanged: changed })
  return { index, spill }
}

export async function googleApplyMembers(env: Env, run: RunRef, groupId: string, members: { sourceId: string }[]) {
  const { db, session, cost } = await context(env, run)
  const changed = await replaceGroupMembers(session, groupId, members)
  await recordStep(db, run.runId, { ...spent(cost), groupsChanged: changed > 0 ? 1 : 0 })
}

export async function googleSweep(env: Env, run: RunRef, users: string[], groups: string[]) {
  const { db, session, cost } = await stepContext(env, run)
  const unlisted = await recordUnlisted(session, run.runId, { users: new Set(users), groups: new Set(groups) })
  await recordStep(db, run.runId, spent(cost))
  return unlisted.report
}
