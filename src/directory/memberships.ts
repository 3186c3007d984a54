import { inArray, sql, type SQL } from 'drizzle-orm'
import { chunks } from './db'
import { groupMembers, groups } from './schema'

/**
 * A group's representation lists each member with its display name, so renaming or deleting a
 * member changes what GET /Groups/:id returns for every group that lists it: those groups' versions
 * (ETags) and lastModified move too. Cost: one row per such group, through the member index. Put it
 * before the statement that deletes the memberships, in the same batch; `guard` is the caller's
 * version check, so nothing is touched when the caller's write does not happen.
 */
export const touchGroupsListing = (memberIds: string[], now: string, guard: SQL = sql`1`) =>
  chunks(memberIds).map(
    (part) => sql`UPDATE ${groups} SET version = version + 1, updated_at = ${now}
      WHERE ${groups.id} IN (SELECT ${groupMembers.groupId} FROM ${groupMembers} WHERE ${inArray(groupMembers.memberId, part)}) AND ${guard}`
  )

/** What a group shows for a user member: its displayName, or its userName when it has none. */
export const memberDisplay = (doc: { displayName?: unknown; userName?: unknown }) => (doc.displayName ?? doc.userName) as string | undefined
