import { replaceGroupMembers } from '../directory/imports'
import type { DirectorySession } from '../directory/session'
import { recordStep, spent, stepContext, type RunRef } from './context'

/*
 * Group memberships from a source that lists a group's members rather than sending their changes
 * (Google every run, Entra in a scoped run): small groups a batch per step, a group with several
 * pages of members page by page (the Workflow drives those), then set at once.
 */

export interface MemberRef {
  sourceId: string
  type: 'User' | 'Group'
}

/** One page of a group's members, and where the next one is (a page token or a link). */
export interface MembersPage {
  members: MemberRef[]
  next?: string | undefined
}

/** Groups whose members one step reads and applies, when each fits in one page. */
export const GROUPS_PER_STEP = 40

/**
 * Reads and applies the members of groups[from…] while each group fits in one page (at most
 * GROUPS_PER_STEP of them). Stops at a group with more pages and returns its first page, for the
 * Workflow to page through step by step.
 */
export async function membersBatch(
  session: DirectorySession,
  page: (groupId: string) => Promise<MembersPage>,
  groups: string[],
  from: number,
  /** Groups this run has counted as changed already (created or renamed by an earlier step). */
  counted: string[] = []
) {
  const already = new Set(counted)
  let index = from
  let pages = 0
  let changed = 0
  let spill: { members: MemberRef[]; next: string } | undefined
  while (index < groups.length && index < from + GROUPS_PER_STEP) {
    const first = await page(groups[index]!)
    pages++
    if (first.next) {
      spill = { members: first.members, next: first.next }
      break
    }
    if ((await replaceGroupMembers(session, groups[index]!, first.members)) > 0 && !already.has(groups[index]!)) changed++
    index++
  }
  return { index, spill, pages, changed }
}

/** Sets one group's members once all its pages are read (a step of its own). */
export async function setMembersStep(env: Env, run: RunRef, groupId: string, members: MemberRef[], counted: string[] = []) {
  const { db, session, cost } = await stepContext(env, run)
  const changed = await replaceGroupMembers(session, groupId, members)
  await recordStep(db, run.runId, { ...spent(cost), groupsChanged: changed > 0 && !counted.includes(groupId) ? 1 : 0 })
}
