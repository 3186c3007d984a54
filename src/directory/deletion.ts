import { sql } from 'drizzle-orm'
import * as z from 'zod'
import { conflict, notFound } from '../scim/errors'
import { nowIso } from './db'
import { readBatch } from './session'

/*
 * Deleting an integration (DELETE /api/v1/integrations/:id). Its users without a device go; those
 * with one stay, archived and detached (integration: null, detachedFrom), synchronised by nothing
 * again. Its groups, memberships, runs, tokens and secrets go. An integration of any size is done
 * in bounded steps, each one D1 batch that is a transaction of its own, so a step that dies is
 * simply run again: begin marks the row (status "deleting", token and secrets cleared at once),
 * steps remove a bounded slice each, and the last one removes the row (integration.deleted).
 */

export const deletionSchema = z.object({
  startedAt: z.string(),
  removedUsers: z.number(),
  keptUsers: z.number(),
  removedGroups: z.number(),
  /** Users are walked by id: the last id done, and the end of the slice being done. */
  after: z.string(),
  next: z.string().optional(),
  /** The Workflow instance carrying a large deletion on, if one was needed. */
  instanceId: z.string().nullable().default(null),
})
export type Deletion = z.infer<typeof deletionSchema>

export const parseDeletion = (text: string | null): Deletion | null => (text === null ? null : deletionSchema.parse(JSON.parse(text)))

/**
 * What one step removes at most, from the users per step (DELETE_STEP_USERS): that many users, ten
 * times as many memberships and half as many groups, each bounded well inside D1's statement time.
 */
const stepSizes = (users: number) => ({ users, members: users * 10, groups: Math.max(1, Math.floor(users / 2)) })

/**
 * Marks the integration as being deleted, and clears its current token and sealed secrets in the
 * same statement, so its SCIM token and imports are dead from here on. Returns the token hash to
 * drop from KV and the deletion's state. Calling it again (a retried DELETE) keeps the state.
 */
export async function beginDeletion(d1: D1Database, id: string) {
  const fresh: Deletion = { startedAt: nowIso(), removedUsers: 0, keptUsers: 0, removedGroups: 0, after: '', instanceId: null }
  const [before, after] = await readBatch<{ tokenHash: string | null; deletion: string | null }>(
    d1,
    sql`SELECT current_token_hash AS tokenHash, deletion FROM integrations WHERE id = ${id}`,
    sql`UPDATE integrations SET deleting_at = coalesce(deleting_at, ${fresh.startedAt}), deletion = coalesce(deletion, ${JSON.stringify(fresh)}),
      current_token_id = NULL, current_token_hash = NULL, sealed_secrets = NULL, users_delta_link = NULL, groups_delta_link = NULL
      WHERE id = ${id} RETURNING deletion`
  )
  if (after!.length === 0) throw notFound(`No integration with id "${id}".`)
  return { tokenHash: before![0]?.tokenHash ?? null, deletion: parseDeletion(after![0]!.deletion)! }
}

/**
 * One bounded step. Memberships go first, with no member events (the triggers see the integration
 * as deleting; group.deleted implies them), then emptied groups, then a slice of users by id: those
 * with a device are detached, the others deleted (user.detached / user.deleted events). Progress is
 * counted in the same transaction (changes() of the statement just before), so a retried step can
 * neither lose nor double-count. Returns the state, or null once the integration row is gone.
 */
export async function deletionStep(d1: D1Database, id: string, stepUsers: number): Promise<{ done: boolean; deletion: Deletion | null }> {
  const STEP = stepSizes(stepUsers)
  const now = nowIso()
  const bump = (field: string) =>
    sql`UPDATE integrations SET deletion = json_set(deletion, ${`$.${field}`}, json_extract(deletion, ${`$.${field}`}) + changes()) WHERE id = ${id}`
  const at = (field: string) => sql`(SELECT json_extract(deletion, ${`$.${field}`}) FROM integrations WHERE id = ${id})`
  // This step's users: ids in (after, next], a range of the users_list_order index.
  const inSlice = sql`integration_id = ${id} AND id > ${at('after')} AND id <= ${at('next')} AND detached_from IS NULL`
  const [state] = await readBatch<{ deletion: string | null; deleting: string | null }>(
    d1,
    sql`SELECT deletion, deleting_at AS deleting FROM integrations WHERE id = ${id}`
  )
  const row = state![0]
  if (!row) return { done: true, deletion: null }
  if (!row.deleting) throw conflict(`Integration "${id}" is not being deleted.`)
  const results = await readBatch<{ deletion: string | null; remaining: number }>(
    d1,
    // By key: group_members has no rowid (migration 0029).
    sql`DELETE FROM group_members WHERE (group_id, member_id) IN (SELECT gm.group_id, gm.member_id FROM groups AS g
      JOIN group_members AS gm ON gm.group_id = g.id WHERE g.integration_id = ${id} LIMIT ${STEP.members})`,
    sql`DELETE FROM groups WHERE id IN (SELECT id FROM groups WHERE integration_id = ${id} AND member_count <= 0 LIMIT ${STEP.groups})`,
    bump('removedGroups'),
    sql`UPDATE integrations SET deletion = json_set(deletion, '$.next', coalesce((SELECT max(id) FROM (SELECT id FROM users
      WHERE integration_id = ${id} AND id > ${at('after')} ORDER BY id LIMIT ${STEP.users})), json_extract(deletion, '$.after'))) WHERE id = ${id}`,
    sql`UPDATE users SET active = 0, data = json_set(data, '$.active', json('false')), data_key = json_set(data_key, '$.active', json('false')),
      deleted_at = coalesce(deleted_at, ${now}), version = version + 1, updated_at = ${now},
      detached_from = (SELECT json_object('id', i.id, 'name', i.name) FROM integrations AS i WHERE i.id = ${id})
      WHERE ${inSlice} AND EXISTS (SELECT 1 FROM devices WHERE user_id = users.id)`,
    bump('keptUsers'),
    sql`DELETE FROM users WHERE ${inSlice} AND NOT EXISTS (SELECT 1 FROM devices WHERE user_id = users.id)`,
    bump('removedUsers'),
    sql`UPDATE integrations SET deletion = json_set(deletion, '$.after', json_extract(deletion, '$.next')) WHERE id = ${id}`,
    sql`SELECT deletion, EXISTS (SELECT 1 FROM groups WHERE integration_id = ${id})
      + EXISTS (SELECT 1 FROM users WHERE integration_id = ${id} AND id > ${at('after')}) AS remaining FROM integrations WHERE id = ${id}`
  )
  const last = results[results.length - 1]![0]!
  if (last.remaining > 0) return { done: false, deletion: parseDeletion(last.deletion) }
  // Nothing left: the activity log and the runs, then the row itself (its trigger writes integration.deleted with the counts).
  const [, , , gone] = await readBatch<{ deletion: string }>(
    d1,
    sql`DELETE FROM scim_activity WHERE integration_id = ${id}`,
    sql`DELETE FROM sync_changes WHERE run_id IN (SELECT id FROM sync_runs WHERE integration_id = ${id})`,
    sql`DELETE FROM sync_runs WHERE integration_id = ${id}`,
    sql`DELETE FROM integrations WHERE id = ${id} RETURNING deletion`
  )
  return { done: true, deletion: gone![0] ? parseDeletion(gone![0].deletion) : null }
}

/** Records which Workflow instance carries the deletion on. */
export async function setDeletionInstance(d1: D1Database, id: string, instanceId: string) {
  await readBatch(
    d1,
    sql`UPDATE integrations SET deletion = json_set(deletion, '$.instanceId', ${instanceId}) WHERE id = ${id} AND deleting_at IS NOT NULL`
  )
}

/** Integrations being deleted: what the cron checks for a deletion whose Workflow died. */
export async function pendingDeletions(d1: D1Database): Promise<{ id: string; deletion: Deletion }[]> {
  const [rows] = await readBatch<{ id: string; deletion: string }>(
    d1,
    sql`SELECT id, deletion FROM integrations WHERE deleting_at IS NOT NULL`
  )
  return rows!.map((r) => ({ id: r.id, deletion: parseDeletion(r.deletion)! }))
}
