import { describe, expect, it } from 'vitest'
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from '../../src/scim/constants'
import { ScimError } from '../../src/scim/errors'
import { parseResource } from '../../src/scim/resource'
import { GROUP_RESOURCE, USER_RESOURCE } from '../../src/scim/schemas/registry'

const fail = (input: unknown) => {
  try {
    parseResource(USER_RESOURCE, input)
  } catch (e) {
    return e as ScimError
  }
  throw new Error('expected parseResource to fail')
}

describe('parseResource', () => {
  it('canonicalises attribute names case-insensitively and keeps values as sent', () => {
    const doc = parseResource(USER_RESOURCE, {
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      UserName: 'Alice@Example.com',
      NAME: { GivenName: 'Alice' },
      emails: [{ Value: 'Alice@Example.com', TYPE: 'work', primary: 'true' }],
      [ENTERPRISE_USER_SCHEMA.toLowerCase()]: { Department: 'R&D', manager: { value: 'm1', displayName: 'ignored' } },
    })
    expect(doc).toEqual({
      userName: 'Alice@Example.com',
      name: { givenName: 'Alice' },
      emails: [{ value: 'Alice@Example.com', type: 'work', primary: true }],
      [ENTERPRISE_USER_SCHEMA]: { department: 'R&D', manager: { value: 'm1' } },
    })
  })

  it("ignores read-only attributes and drops the password (Okta's create body)", () => {
    const doc = parseResource(USER_RESOURCE, {
      schemas: [USER_SCHEMA],
      id: 'client-chosen',
      meta: { created: 'x' },
      userName: 'okta@example.com',
      password: 'Secr3t!',
      groups: [],
      locale: 'en-US',
      externalId: '00u1',
      active: true,
    })
    expect(doc).toEqual({ userName: 'okta@example.com', locale: 'en-US', externalId: '00u1', active: true })
  })

  it('accepts URN-qualified attribute keys at the top level', () => {
    expect(parseResource(USER_RESOURCE, { userName: 'u', [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Ops' })).toEqual({
      userName: 'u',
      [ENTERPRISE_USER_SCHEMA]: { department: 'Ops' },
    })
  })

  it.each([
    ['not an object', [1, 2], 'invalidSyntax', 'JSON object'],
    ['missing userName', { name: { givenName: 'x' } }, 'invalidValue', '"userName" is required'],
    ['empty userName', { userName: '  ' }, 'invalidValue', '"userName" is required'],
    ['unknown attribute', { userName: 'u', shoeSize: 9 }, 'invalidValue', 'Unknown attribute "shoeSize"'],
    ['unknown extension', { userName: 'u', 'urn:acme:ext:1.0:User': { x: 1 } }, 'invalidValue', 'Supported schemas'],
    ['unknown sub-attribute', { userName: 'u', name: { nick: 'x' } }, 'invalidValue', 'no sub-attribute "nick"'],
    ['wrong type', { userName: 'u', active: 'sometimes' }, 'invalidValue', 'must be a boolean'],
    ['array for a single value', { userName: ['a', 'b'] }, 'invalidValue', 'single value'],
    ['two primaries', { userName: 'u', emails: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }, 'invalidValue', 'primary'],
    ['bad schemas', { userName: 'u', schemas: 'x' }, 'invalidSyntax', 'schemas'],
    ['__proto__ key', JSON.parse('{"userName":"u","__proto__":{"polluted":1}}'), 'invalidValue', 'Unknown attribute "__proto__"'],
  ])('rejects %s', (_name, input, scimType, detail) => {
    const err = fail(input)
    expect(err).toBeInstanceOf(ScimError)
    expect(err.status).toBe(400)
    expect(err.scimType).toBe(scimType)
    expect(err.detail).toContain(detail)
  })

  it('requires a group displayName and accepts members', () => {
    expect(parseResource(GROUP_RESOURCE, { displayName: 'G', members: [{ value: 'u1', $ref: null, type: 'User' }] })).toEqual({
      displayName: 'G',
      members: [{ value: 'u1', type: 'User' }],
    })
    expect(() => parseResource(GROUP_RESOURCE, { members: [] })).toThrow(/displayName/)
  })
})
