import * as z from 'zod'
import { ENTERPRISE_USER_SCHEMA } from '../../scim/constants'
import { parseResource, type ScimObject } from '../../scim/resource'
import { USER_RESOURCE } from '../../scim/schemas/registry'

/*
 * Graph objects → the same user and group documents the SCIM side stores, so applications read one
 * model whatever the source. userName is the UPN; the object id is the externalId, which is how
 * later runs find the user again.
 */

const str = z.string().nullish()
export const graphUserSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string(),
  displayName: str,
  givenName: str,
  surname: str,
  mail: str,
  jobTitle: str,
  department: str,
  accountEnabled: z.boolean().nullish(),
})
export type GraphUser = z.infer<typeof graphUserSchema>

export const removedSchema = z.object({ id: z.string(), '@removed': z.object({ reason: z.string() }) })

const memberRefSchema = z.object({
  '@odata.type': z.string().optional(),
  id: z.string(),
  '@removed': z.object({ reason: z.string() }).optional(),
})
export const graphGroupSchema = z.object({
  id: z.string(),
  displayName: z.string().nullish(),
  description: str,
  'members@delta': z.array(memberRefSchema).optional(),
})
export type GraphGroup = z.infer<typeof graphGroupSchema>

export function userDoc(u: GraphUser): ScimObject {
  const name = { ...(u.givenName ? { givenName: u.givenName } : {}), ...(u.surname ? { familyName: u.surname } : {}) }
  const displayName = u.displayName ?? ([u.givenName, u.surname].filter(Boolean).join(' ') || undefined)
  return parseResource(USER_RESOURCE, {
    userName: u.userPrincipalName,
    externalId: u.id,
    active: u.accountEnabled !== false,
    ...(displayName ? { displayName } : {}),
    ...(Object.keys(name).length > 0 ? { name } : {}),
    // Only the first (primary) email: Graph's mail.
    ...(u.mail ? { emails: [{ value: u.mail, type: 'work', primary: true }] } : {}),
    ...(u.jobTitle ? { title: u.jobTitle } : {}),
    ...(u.department ? { [ENTERPRISE_USER_SCHEMA]: { department: u.department } } : {}),
  })
}

/** A page item: a user, or a removal (`changed` = soft-deleted, restorable; `deleted` = gone). */
export type UserItem = { kind: 'user'; user: GraphUser } | { kind: 'removed'; id: string; reason: 'changed' | 'deleted' }

export function userItem(raw: Record<string, unknown>): UserItem {
  const removed = removedSchema.safeParse(raw)
  if (removed.success)
    return { kind: 'removed', id: removed.data.id, reason: removed.data['@removed'].reason === 'changed' ? 'changed' : 'deleted' }
  return { kind: 'user', user: graphUserSchema.parse(raw) }
}

export type GroupItem =
  | {
      kind: 'group'
      id: string
      displayName?: string
      description?: string
      added: { id: string; type: 'User' | 'Group' }[]
      removed: string[]
    }
  | { kind: 'removed'; id: string }

export function groupItem(raw: Record<string, unknown>): GroupItem | undefined {
  const removed = removedSchema.safeParse(raw)
  if (removed.success) return { kind: 'removed', id: removed.data.id }
  const g = graphGroupSchema.parse(raw)
  const refs = g['members@delta'] ?? []
  return {
    kind: 'group',
    id: g.id,
    ...(g.displayName ? { displayName: g.displayName } : {}),
    ...(g.description ? { description: g.description } : {}),
    // Users and groups only: contacts, devices and service principals are not directory members here.
    added: refs
      .filter((r) => !r['@removed'] && (r['@odata.type'] === '#microsoft.graph.user' || r['@odata.type'] === '#microsoft.graph.group'))
      .map((r) => ({ id: r.id, type: r['@odata.type'] === '#microsoft.graph.group' ? ('Group' as const) : ('User' as const) })),
    removed: refs.filter((r) => r['@removed']).map((r) => r.id),
  }
}
