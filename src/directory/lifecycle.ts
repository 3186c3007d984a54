import { and, eq, inArray, sql, type SQL } from 'drizzle-orm'
import { chunks } from './db'
import { touchGroupsListing } from './memberships'
import { devices, groupMembers, groups, users } from './schema'
import type { DirectorySession, Statement } from './session'

/*
 * The lifecycle rules, one function each, used by SCIM writes and by both importers alike. Each
 * returns statements for the caller's batch (so a change and whatever else rides with it commit
 * together); `guard` is the caller's version check, and the last statements report with RETURNING
 * which rows they changed. Events need no statement here: the outbox triggers write them.
 */

const hasDevice = sql`EXISTS (SELECT 1 FROM ${devices} WHERE ${devices.userId} = ${users.id})`

/** SET clause that archives a user: `active` in the document follows the column, so SCIM reads show it. */
const archiving = (now: string) => sql`active = 0, data = json_set(data, '$.active', json('false')),
  data_key = json_set(data_key, '$.active', json('false')), version = version + 1, updated_at = ${now}`

/**
 * Removes users: those with a device assigned are kept, archived and hidden from SCIM (`deleted_at`,
 * RFC 7644 §3.6: the IdP sees them gone), with their data and devices but out of their groups, as the
 * source no longer lists them there; the others go for good, their email rows and memberships with
 * them (the users_cascade_delete trigger). First the groups listing them move (their representation
 * changes). The last three statements of each chunk report with RETURNING the ids kept (archived
 * now, or already archived) and removed.
 */
export function removeUsers(s: DirectorySession, ids: string[], now: string, guard: SQL = sql`1`): Statement[] {
  return [
    ...touchGroupsListing(ids, now, guard),
    ...chunks(ids).flatMap((part) => {
      const mine = and(eq(users.integrationId, s.integrationId), inArray(users.id, part), guard)
      return [
        // Only the kept users' memberships by statement, so they are member_removed events; a removed
        // user's go by the cascade, implied by its user.deleted.
        s.db
          .delete(groupMembers)
          .where(
            and(
              inArray(groupMembers.memberId, part),
              eq(groupMembers.integrationId, s.integrationId),
              sql`EXISTS (SELECT 1 FROM ${devices} WHERE ${devices.userId} = ${groupMembers.memberId})`,
              guard
            )
          ),
        sql`UPDATE ${users} SET ${archiving(now)}, deleted_at = ${now} WHERE ${mine} AND ${hasDevice} AND active = 1 RETURNING id`,
        // Already archived: only hidden (no version move, nothing an application sees changes).
        sql`UPDATE ${users} SET deleted_at = coalesce(deleted_at, ${now}) WHERE ${mine} AND ${hasDevice} AND active = 0 RETURNING id`,
        s.db
          .delete(users)
          .where(and(mine, sql`NOT ${hasDevice}`))
          .returning({ id: users.id }),
      ]
    }),
  ]
}

/** Removes groups; their memberships, either side, go with them (the groups_cascade_delete trigger). */
export function removeGroups(s: DirectorySession, ids: string[], now: string, guard: SQL = sql`1`): Statement[] {
  return [
    ...touchGroupsListing(ids, now, guard),
    ...chunks(ids).map((part) =>
      s.db
        .delete(groups)
        .where(and(eq(groups.integrationId, s.integrationId), inArray(groups.id, part), guard))
        .returning({ id: groups.id })
    ),
  ]
}

/**
 * Archives the active users among `ids`: they keep their data, groups and id, and come back when
 * restored. The document's `active` follows the column, so SCIM reads show it.
 */
export const archiveUsers = (s: DirectorySession, ids: string[], now: string): Statement[] =>
  chunks(ids).map(
    (part) => sql`UPDATE ${users} SET ${archiving(now)}
      WHERE ${users.integrationId} = ${s.integrationId} AND active = 1 AND ${inArray(users.id, part)} RETURNING id`
  )
