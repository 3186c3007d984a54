import * as z from 'zod'
import type { IntegrationRow } from '../directory/schema'

/*
 * An import's scope, as admins choose "Sync only assigned users and groups" in Entra: only the
 * members (however nested) of chosen source groups are imported, with those groups and the groups
 * nested in them. A scoped run lists its scope in full every time (no delta), and its sweep
 * archives, under the safeguard, the users who are no longer in it.
 */

/** Scope groups per integration: each costs a few listings per run. */
export const MAX_SCOPE_GROUPS = 50

export const scopeSchema = z.array(z.string()).min(1).max(MAX_SCOPE_GROUPS)

/** The source group ids an integration is scoped to, or undefined when it imports everyone. */
export const scopeOf = (row: Pick<IntegrationRow, 'scopeGroups'>): string[] | undefined =>
  row.scopeGroups ? scopeSchema.parse(JSON.parse(row.scopeGroups)) : undefined

/** Why the sweep of a scoped run archives a user. */
export const OUT_OF_SCOPE = "left the import's scope (not a member of any scope group, or gone from the source directory)"

/** A scope group the source does not have: the run stops rather than archive its members. */
export const missingScopeGroup = (source: string, id: string) =>
  `The scope group "${id}" does not exist in ${source} (deleted, or a wrong id): change the integration's scope (PATCH {"scope":{"groups":[…]}}). Nobody was archived.`
