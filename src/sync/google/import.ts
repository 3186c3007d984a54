import { createDb } from '../../directory/db'
import { applyGroupPage, applyUserPage, replaceGroupMembers, sweepUnlisted, type ImportedUser } from '../../directory/imports'
import { getIntegration } from '../../directory/integrations'
import { DirectorySession } from '../../directory/session'
import { recordProgress } from '../runs'
import { googleFor } from '../source'
import { googleUserDoc, googleUserSchema, groupsPageSchema, memberRefs, membersPageSchema, usersPageSchema } from './map'

/*
 * The steps of a Google import. Google has no delta API, so every run lists everything; what each
 * step returns (the ids it saw) lets the final sweep archive what the listing no longer contains.
 */

async function context(env: Env, integrationId: string) {
  const db = createDb(env.DB)
  const row = await getIntegration(db, integrationId)
  return { db, session: new DirectorySession(env.DB, db, { integrationId }), google: await googleFor(env, row) }
}

export async function googleUsersPage(env: Env, integrationId: string, runId: string, pageToken: string | undefined) {
  const { db, session, google } = await context(env, integrationId)
  const page = usersPageSchema.parse(await google.users(pageToken))
  const users = page.users.map((u) => googleUserSchema.parse(u))
  const items: ImportedUser[] = users.map((u) => ({ kind: 'user', sourceId: u.id, doc: googleUserDoc(u) }))
  const counts = await applyUserPage(session, items, undefined)
  await recordProgress(db, runId, { pages: 1, usersCreated: counts.created, usersUpdated: counts.updated, usersArchived: counts.archived }, 'full')
  return { next: page.nextPageToken, ids: users.map((u) => u.id) }
}

export async function googleGroupsPage(env: Env, integrationId: string, runId: string, pageToken: string | undefined) {
  const { db, session, google } = await context(env, integrationId)
  const page = groupsPageSchema.parse(await google.groups(pageToken))
  const result = await applyGroupPage(
    session,
    page.groups.map((g) => ({ kind: 'group', sourceId: g.id, displayName: g.name ?? g.email ?? g.id, added: [], removed: [] })),
    undefined
  )
  await recordProgress(db, runId, { pages: 1, groupsChanged: result.changed })
  return { next: page.nextPageToken, ids: page.groups.map((g) => g.id) }
}

export async function googleMembersPage(env: Env, integrationId: string, runId: string, groupId: string, pageToken: string | undefined) {
  const { db, google } = await context(env, integrationId)
  const page = membersPageSchema.parse(await google.members(groupId, pageToken))
  await recordProgress(db, runId, { pages: 1 })
  return { next: page.nextPageToken, members: memberRefs(page.members) }
}

export async function googleApplyMembers(env: Env, integrationId: string, runId: string, groupId: string, members: { sourceId: string }[]) {
  const { db, session } = await context(env, integrationId)
  const changed = await replaceGroupMembers(session, groupId, members)
  if (changed > 0) await recordProgress(db, runId, { groupsChanged: 1 })
}

export async function googleSweep(env: Env, integrationId: string, runId: string, users: string[], groups: string[]) {
  const db = createDb(env.DB)
  const { archived, groupsRemoved } = await sweepUnlisted(new DirectorySession(env.DB, db, { integrationId }), new Set(users), new Set(groups))
  await recordProgress(db, runId, { usersArchived: archived, groupsChanged: groupsRemoved })
}
