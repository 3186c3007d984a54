import { describe, expect, it } from 'vitest'
import { ENTERPRISE_USER_SCHEMA } from '../../src/scim/constants'
import { includesAttribute, parseProjection, project } from '../../src/scim/projection'
import { renderGroup, renderUser } from '../../src/scim/render'
import { GROUP_RESOURCE, USER_RESOURCE } from '../../src/scim/schemas/registry'

const stored = {
  id: 'u1',
  version: 3,
  created: '2026-01-01T00:00:00.000Z',
  lastModified: '2026-01-02T00:00:00.000Z',
  doc: {
    userName: 'a',
    externalId: 'e1',
    name: { givenName: 'A', familyName: 'B' },
    active: true,
    [ENTERPRISE_USER_SCHEMA]: { department: 'D', costCenter: 'C' },
  },
  groups: [{ value: 'g1', display: 'G' }],
}
const full = renderUser(stored, 'https://h/scim/v2')

describe('render + project', () => {
  it('renders server-owned attributes and meta', () => {
    expect(full).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA],
      id: 'u1',
      externalId: 'e1',
      groups: [{ value: 'g1', $ref: 'https://h/scim/v2/Groups/g1', display: 'G', type: 'direct' }],
      meta: { resourceType: 'User', version: 'W/"3"', location: 'https://h/scim/v2/Users/u1' },
    })
  })

  it('returns only the requested attributes, plus those always returned', () => {
    const p = parseProjection(
      USER_RESOURCE,
      'userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
      undefined
    )
    expect(project(USER_RESOURCE, full, p)).toEqual({
      schemas: full.schemas,
      id: 'u1',
      userName: 'a',
      name: { givenName: 'A' },
      [ENTERPRISE_USER_SCHEMA]: { department: 'D' },
    })
  })

  it('drops excluded attributes but never id', () => {
    const p = parseProjection(USER_RESOURCE, undefined, 'groups,name.familyName,id,meta')
    const out = project(USER_RESOURCE, full, p)
    expect(out.groups).toBeUndefined()
    expect(out.meta).toBeUndefined()
    expect(out.id).toBe('u1')
    expect(out.name).toEqual({ givenName: 'A' })
    expect(includesAttribute(p, 'groups')).toBe(false)
    expect(includesAttribute(parseProjection(USER_RESOURCE, undefined, undefined), 'groups')).toBe(true)
  })

  it("knows when a group's members are not wanted", () => {
    expect(includesAttribute(parseProjection(GROUP_RESOURCE, undefined, 'members'), 'members')).toBe(false)
    expect(includesAttribute(parseProjection(GROUP_RESOURCE, 'displayName', undefined), 'members')).toBe(false)
    expect(includesAttribute(parseProjection(GROUP_RESOURCE, 'members', undefined), 'members')).toBe(true)
    const g = renderGroup(
      { ...stored, doc: { displayName: 'G' }, members: [{ value: 'u1', type: 'User', display: 'A' }] },
      'https://h/scim/v2'
    )
    expect(g.members).toEqual([{ value: 'u1', $ref: 'https://h/scim/v2/Users/u1', display: 'A', type: 'User' }])
  })
})
