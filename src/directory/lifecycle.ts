import { and, eq, inArray, sql, type SQL } from 'drizzle-orm'
import { chunks } from './db'
import { touchGroupsListing } from './memberships'
import { devices, groupMembers, groups, userEmails, users } from './schema'
import type { DirectorySession, Statement } from './session'

/*
 * The lifecycle rules, one function each, used by SCIM writes and by both importers alike. Each
 * returns statements for the caller's batch (so a change and whatever else rides with it commit
 * together); `guard` is the caller's version check, and the last statement reports with RETURNING
 * which rows it changed.
 */

/**
 * Removes users for good: first the groups listing them move (their representation changes), then
 * the email index rows, the memberships and the users themselves.
 */
export function removeUsers(s: DirectorySession, ids: string[], now: string, guard: SQL = sql`1`): Statement[] {
  return [
    ...touchGroupsListing(ids, now, guard),
    ...chunks(ids).flatMap((part) => [
      s.db.delete(userEmails).where(and(inArray(userEmails.userId, part), guard)),
      s.db.delete(groupMembers).where(and(inArray(groupMembers.memberId, part), eq(groupMembers.integrationId, s.integrationId), guard)),
      // Until users with devices are kept (archived) instead, their assignments go with them, so no
      // device is ever left assigned to a user that does not exist.
      s.db.delete(devices).where(and(inArray(devices.userId, part), guard)),
      s.db
        .delete(users)
        .where(and(eq(users.integrationId, s.integrationId), inArray(users.id, part), guard))
        .returning({ id: users.id }),
    ]),
  ]
}

/** Removes groups and every membership they are part of, either side; groups listing them move. */
export function removeGroups(s: DirectorySession, ids: string[], now: string, guard: SQL = sql`1`): Statement[] {
  return [
    ...touchGroupsListing(ids, now, guard),
    ...chunks(ids).flatMap((part) => [
      s.db.delete(groupMembers).where(and(inArray(groupMembers.groupId, part), guard)),
      s.db.delete(groupMembers).where(and(inArray(groupMembers.memberId, part), eq(groupMembers.integrationId, s.integrationId), guard)),
      s.db
        .delete(groups)
        .where(and(eq(groups.integrationId, s.integrationId), inArray(groups.id, part), guard))
        .returning({ id: groups.id }),
    ]),
  ]
}

/**
 * Archives the active users among `ids`: they keep their data, groups and id, and come back when
 * restored. The document's `active` follows the column, so SCIM reads show it.
 */
export const archiveUsers = (s: DirectorySession, ids: string[], now: string): Statement[] =>
  chunks(ids).map(
    (part) => sql`UPDATE ${users} SET active = 0, data = json_set(data, '$.active', json('false')),
      data_key = json_set(data_key, '$.active', json('false')), version = version + 1, updated_at = ${now}
      WHERE ${users.integrationId} = ${s.integrationId} AND active = 1 AND ${inArray(users.id, part)} RETURNING id`
  )
