import * as z from 'zod'
import { ENTERPRISE_USER_SCHEMA } from '../../scim/constants'
import { mergeDocument, parseResource, type ScimObject } from '../../scim/resource'
import { USER_RESOURCE } from '../../scim/schemas/registry'
import { readAs } from '../errors'

/*
 * Graph objects → the same user and group documents the SCIM side stores, so applications read one
 * model whatever the source. userName is the UPN (or mail, where the integration says so); the
 * object id is the externalId, which is how later runs find the user again.
 */

const str = z.string().nullish()
/** Graph's delta promises only the id and the changed properties on an update: all else is optional. */
export const graphUserSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string().optional(),
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

/**
 * A Graph user item as a partial SCIM document (see mergeDocument): only the properties the item
 * carries, null for the ones it clears. A created user's item carries them all, so it is a whole
 * document; an update's carries what changed.
 */
export function userPatch(u: GraphUser, userNameFrom: UserNameFrom = 'userPrincipalName'): ScimObject {
  const has = (key: keyof GraphUser) => key in u
  const patch: ScimObject = { externalId: u.id }
  const userName = userNameFrom === 'mail' ? u.mail : u.userPrincipalName
  if (userName) patch.userName = userName
  if (has('accountEnabled')) patch.active = u.accountEnabled !== false
  const name: ScimObject = {
    ...(has('givenName') ? { givenName: u.givenName || null } : {}),
    ...(has('surname') ? { familyName: u.surname || null } : {}),
  }
  if (Object.keys(name).length > 0) patch.name = name
  // Without a displayName of its own, a user is shown by its given and family names.
  // (An item with a userPrincipalName and no displayName is a whole object whose displayName is unset.)
  const derived = [u.givenName, u.surname].filter(Boolean).join(' ') || null
  if (has('displayName')) patch.displayName = u.displayName || derived
  else if (u.userPrincipalName && derived) patch.displayName = derived
  // Only the first (primary) email: Graph's mail.
  if (has('mail')) patch.emails = u.mail ? [{ value: u.mail, type: 'work', primary: true }] : null
  if (has('jobTitle')) patch.title = u.jobTitle || null
  if (has('department')) patch[ENTERPRISE_USER_SCHEMA] = { department: u.department || null }
  return patch
}

export type UserNameFrom = 'userPrincipalName' | 'mail'

/**
 * Why a Graph user cannot be imported under the integration's userName source, or undefined: the
 * item says it has no mail (a listed user without a mailbox, or an update that cleared it). An
 * update that does not mention mail leaves it as it was, so it is no reason.
 */
export const missingUserName = (u: GraphUser, userNameFrom: UserNameFrom): string | undefined =>
  userNameFrom === 'mail' && 'mail' in u && !u.mail
    ? `skipped: no mail in Entra (this integration takes userName from mail); ${u.userPrincipalName ?? u.id} is not imported until it has one`
    : undefined

/** A whole user document from a complete Graph user object (what a user not seen before must be). */
export const userDoc = (u: GraphUser): ScimObject => parseResource(USER_RESOURCE, mergeDocument({ active: true }, userPatch(u)))

/** A page item: a user, or a removal (`changed` = soft-deleted, restorable; `deleted` = gone). */
export type UserItem = { kind: 'user'; user: GraphUser } | { kind: 'removed'; id: string; reason: 'changed' | 'deleted' }

export function userItem(raw: Record<string, unknown>): UserItem {
  const removed = removedSchema.safeParse(raw)
  if (removed.success)
    return { kind: 'removed', id: removed.data.id, reason: removed.data['@removed'].reason === 'changed' ? 'changed' : 'deleted' }
  return { kind: 'user', user: readAs(graphUserSchema, raw, 'Microsoft Graph') }
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
  const g = readAs(graphGroupSchema, raw, 'Microsoft Graph')
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
