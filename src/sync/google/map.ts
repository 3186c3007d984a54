import * as z from 'zod'
import { ENTERPRISE_USER_SCHEMA } from '../../scim/constants'
import { parseResource, type ScimObject } from '../../scim/resource'
import { USER_RESOURCE } from '../../scim/schemas/registry'

/* Google Directory objects → the directory's user and group documents. userName = primaryEmail. */

const str = z.string().nullish()
export const googleUserSchema = z.object({
  id: z.string(),
  primaryEmail: z.string(),
  name: z.object({ givenName: str, familyName: str, fullName: str }).partial().nullish(),
  suspended: z.boolean().nullish(),
  archived: z.boolean().nullish(),
  organizations: z.array(z.object({ title: str, department: str, primary: z.boolean().nullish() }).partial()).nullish(),
})
export type GoogleUser = z.infer<typeof googleUserSchema>

export const usersPageSchema = z.object({ users: z.array(z.unknown()).optional().default([]), nextPageToken: z.string().optional() })
export const groupsPageSchema = z.object({
  groups: z
    .array(z.object({ id: z.string(), email: z.string().optional(), name: z.string().optional() }))
    .optional()
    .default([]),
  nextPageToken: z.string().optional(),
})
export const membersPageSchema = z.object({
  // Google names every member's type (USER, GROUP, CUSTOMER); some external members have no id.
  members: z
    .array(z.object({ id: z.string().optional(), type: z.string(), status: z.string().optional() }))
    .optional()
    .default([]),
  nextPageToken: z.string().optional(),
})

export function googleUserDoc(u: GoogleUser): ScimObject {
  const org = u.organizations?.find((o) => o.primary) ?? u.organizations?.[0]
  const name = {
    ...(u.name?.givenName ? { givenName: u.name.givenName } : {}),
    ...(u.name?.familyName ? { familyName: u.name.familyName } : {}),
  }
  const displayName = u.name?.fullName ?? ([u.name?.givenName, u.name?.familyName].filter(Boolean).join(' ') || undefined)
  return parseResource(USER_RESOURCE, {
    userName: u.primaryEmail,
    externalId: u.id,
    // Suspended or archived in Google: archived here.
    active: !(u.suspended || u.archived),
    ...(displayName ? { displayName } : {}),
    ...(Object.keys(name).length > 0 ? { name } : {}),
    emails: [{ value: u.primaryEmail, type: 'work', primary: true }],
    ...(org?.title ? { title: org.title } : {}),
    ...(org?.department ? { [ENTERPRISE_USER_SCHEMA]: { department: org.department } } : {}),
  })
}

/** Members that are users or groups (not CUSTOMER or EXTERNAL), with their type. */
export const memberRefs = (members: z.infer<typeof membersPageSchema>['members']) =>
  members.flatMap((m) =>
    m.id && (m.type === 'USER' || m.type === 'GROUP')
      ? [{ sourceId: m.id, type: m.type === 'GROUP' ? ('Group' as const) : ('User' as const) }]
      : []
  )
