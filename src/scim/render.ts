import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './constants'
import { isEmptyValue, isObject, type ScimObject } from './resource'

/** A resource as the directory keeps it: the validated document plus what the server owns. */
export interface StoredResource {
  id: string
  doc: ScimObject
  version: number
  created: string
  lastModified: string
}

/** A member of a group, or a group of a user. */
export interface Reference {
  value: string
  display?: string
  type?: 'User' | 'Group'
}

/** meta.version as a weak ETag (RFC 7644 §3.14). */
export const etagOf = (version: number) => `W/"${version}"`

/**
 * RFC 7643 §2.5: null and empty are unassigned, and clients that compare a patched resource with
 * the one they expect look for the attribute to be gone. Documents stored before empties were
 * dropped on write may still hold them.
 */
function assigned(doc: ScimObject): ScimObject {
  const out: ScimObject = {}
  for (const [k, v] of Object.entries(doc)) {
    const value = isObject(v) && k.startsWith('urn:') ? assigned(v) : v
    if (!isEmptyValue(value)) out[k] = value
  }
  return out
}

function meta(resourceType: 'User' | 'Group', r: StoredResource, location: string) {
  return { resourceType, created: r.created, lastModified: r.lastModified, location, version: etagOf(r.version) }
}

export function renderUser(r: StoredResource & { groups?: Reference[] }, baseUrl: string): ScimObject {
  const { externalId, ...rest } = assigned(r.doc)
  const location = `${baseUrl}/Users/${r.id}`
  return {
    schemas: [USER_SCHEMA, ...(rest[ENTERPRISE_USER_SCHEMA] ? [ENTERPRISE_USER_SCHEMA] : [])],
    id: r.id,
    ...(externalId !== undefined ? { externalId } : {}),
    ...rest,
    ...(r.groups && r.groups.length > 0
      ? { groups: r.groups.map((g) => ({ value: g.value, $ref: `${baseUrl}/Groups/${g.value}`, display: g.display, type: 'direct' })) }
      : {}),
    meta: meta('User', r, location),
  }
}

export function renderGroup(r: StoredResource & { members?: Reference[] }, baseUrl: string): ScimObject {
  const { externalId, ...rest } = assigned(r.doc)
  return {
    schemas: [GROUP_SCHEMA],
    id: r.id,
    ...(externalId !== undefined ? { externalId } : {}),
    ...rest,
    ...(r.members && r.members.length > 0
      ? {
          members: r.members.map((m) => ({
            value: m.value,
            $ref: `${baseUrl}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}`,
            ...(m.display !== undefined ? { display: m.display } : {}),
            type: m.type,
          })),
        }
      : {}),
    meta: meta('Group', r, `${baseUrl}/Groups/${r.id}`),
  }
}
