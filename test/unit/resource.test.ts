import { describe, expect, it } from 'vitest'
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from '../../src/scim/constants'
import { ScimError } from '../../src/scim/errors'
import { mergeDocument, parseResource } from '../../src/scim/resource'
import { scimError } from '../helpers/scim-error'
import { GROUP_RESOURCE, USER_RESOURCE } from '../../src/scim/schemas/registry'

const fail = (input: unknown) => scimError(() => parseResource(USER_RESOURCE, input))

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
    ['unknown extension', { userName: 'u', 'urn:acme:ext:1.0:User': { x: 1 } }, 'invalidValue', 'Supported schemas'],
    ['wrong type', { userName: 'u', active: 'sometimes' }, 'invalidValue', 'must be a boolean'],
    ['a number for a string', { userName: 42 }, 'invalidValue', '"userName" must be a string, not a number'],
    ['an object for a string', { userName: 'u', title: { x: 1 } }, 'invalidValue', '"title" must be a string, not an object'],
    [
      'an array for a sub-attribute string',
      { userName: 'u', name: { givenName: ['A'] } },
      'invalidValue',
      '"name.givenName" must be a string, not an array',
    ],
    [
      'an object for a boolean',
      { userName: 'u', active: { v: true } },
      'invalidValue',
      '"active" must be a boolean (true or false), not an object',
    ],
    ['a number for a boolean', { userName: 'u', active: 1 }, 'invalidValue', 'must be a boolean'],
    ['a NUL in userName', { userName: 'a\u0000b' }, 'invalidValue', 'control character'],
    ['a line feed in externalId', { userName: 'u', externalId: 'x\ny' }, 'invalidValue', 'control character'],
    ['a lone surrogate in userName', { userName: 'a\uD800b' }, 'invalidValue', 'unpaired UTF-16 surrogate'],
    ['a lone surrogate in any string', { userName: 'u', title: '\uDC00' }, 'invalidValue', '"title" contains an unpaired'],
    ['a userName over the length limit', { userName: 'x'.repeat(1025) }, 'invalidValue', 'longer than 1024 characters'],
    [
      'too many emails',
      { userName: 'u', emails: Array.from({ length: 101 }, (_, i) => ({ value: `e${i}@x.com` })) },
      'invalidValue',
      '"emails" has 101 values; at most 100',
    ],
    [
      'core attributes given twice, differently',
      { userName: 'u', [USER_SCHEMA]: { userName: 'v' } },
      'invalidValue',
      'both at the top level and under',
    ],
    ['array for a single value', { userName: ['a', 'b'] }, 'invalidValue', 'single value'],
    [
      'two primaries',
      {
        userName: 'u',
        emails: [
          { value: 'a', primary: true },
          { value: 'b', primary: true },
        ],
      },
      'invalidValue',
      'primary',
    ],
    ['bad schemas', { userName: 'u', schemas: 'x' }, 'invalidSyntax', 'schemas'],
  ])('rejects %s', (_name, input, scimType, detail) => {
    const err = fail(input)
    expect(err).toBeInstanceOf(ScimError)
    expect(err.status).toBe(400)
    expect(err.scimType).toBe(scimType)
    expect(err.detail).toContain(detail)
  })

  it('ignores attributes and sub-attributes the schema does not define, storing none of them', () => {
    expect(
      parseResource(USER_RESOURCE, {
        userName: 'u',
        adreses: [{ streetAddress: 'x' }],
        name: { givenName: 'A', nick: 'x' },
        emails: [{ value: 'a@x.com', label: 'work' }],
        [ENTERPRISE_USER_SCHEMA]: { department: 'Ops', shoeSize: 9 },
        [`${ENTERPRISE_USER_SCHEMA}:hatSize`]: 7,
      })
    ).toEqual({ userName: 'u', name: { givenName: 'A' }, emails: [{ value: 'a@x.com' }], [ENTERPRISE_USER_SCHEMA]: { department: 'Ops' } })
  })

  it('ignores a __proto__ key without polluting any prototype', () => {
    const doc = parseResource(USER_RESOURCE, JSON.parse('{"userName":"u","__proto__":{"polluted":1},"name":{"__proto__":{"polluted":2}}}'))
    expect(doc).toEqual({ userName: 'u' })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype)
  })

  it('takes core attributes nested under the core schema URN as top-level ones; the same value twice is fine', () => {
    expect(parseResource(USER_RESOURCE, { schemas: [USER_SCHEMA], [USER_SCHEMA]: { userName: 'u', name: { givenName: 'A' } } })).toEqual({
      userName: 'u',
      name: { givenName: 'A' },
    })
    expect(parseResource(USER_RESOURCE, { userName: 'u', [USER_SCHEMA.toLowerCase()]: { UserName: 'u', title: 'T' } })).toEqual({
      userName: 'u',
      title: 'T',
    })
  })

  it("keeps Entra's string booleans in any case", () => {
    expect(parseResource(USER_RESOURCE, { userName: 'u', active: 'False' }).active).toBe(false)
    expect(parseResource(USER_RESOURCE, { userName: 'u', active: 'TRUE' }).active).toBe(true)
  })

  it("takes a bare string as the manager's id", () => {
    expect(parseResource(USER_RESOURCE, { userName: 'u', [ENTERPRISE_USER_SCHEMA]: { manager: 'm-1' } })).toEqual({
      userName: 'u',
      [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'm-1' } },
    })
  })

  it('drops empty multi-valued attributes and empty objects (RFC 7643 §2.5)', () => {
    expect(parseResource(USER_RESOURCE, { userName: 'u', emails: [], name: {}, [ENTERPRISE_USER_SCHEMA]: { manager: {} } })).toEqual({
      userName: 'u',
    })
  })

  it('applies the limits it is given, and exempts group members from the value cap', () => {
    const limits = { maxStringLength: 5, maxValues: 2 }
    expect(() => parseResource(USER_RESOURCE, { userName: 'abcdef' }, limits)).toThrow(/longer than 5 characters/)
    // Characters, not UTF-16 units: five emoji are five characters.
    expect(parseResource(USER_RESOURCE, { userName: '😀😀😀😀😀' }, limits).userName).toBe('😀😀😀😀😀')
    expect(() =>
      parseResource(USER_RESOURCE, { userName: 'u', phoneNumbers: [{ value: '1' }, { value: '2' }, { value: '3' }] }, limits)
    ).toThrow(/at most 2/)
    const members = Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` }))
    expect((parseResource(GROUP_RESOURCE, { displayName: 'G', members }, limits).members as unknown[]).length).toBe(5)
  })

  it('requires a group displayName and accepts members', () => {
    expect(parseResource(GROUP_RESOURCE, { displayName: 'G', members: [{ value: 'u1', $ref: null, type: 'User' }] })).toEqual({
      displayName: 'G',
      members: [{ value: 'u1', type: 'User' }],
    })
    expect(() => parseResource(GROUP_RESOURCE, { members: [] })).toThrow(/displayName/)
  })

  it('merges a partial document: absent unchanged, null cleared, objects merged; composing keeps nulls', () => {
    const current = { userName: 'u', title: 'T', name: { givenName: 'A', familyName: 'B' }, emails: [{ value: 'a@x' }] }
    expect(mergeDocument(current, { title: null, name: { familyName: 'C' }, displayName: 'D' })).toEqual({
      userName: 'u',
      name: { givenName: 'A', familyName: 'C' },
      emails: [{ value: 'a@x' }],
      displayName: 'D',
    })
    expect(mergeDocument(current, { name: { givenName: null, familyName: null } })).toEqual({
      userName: 'u',
      title: 'T',
      emails: [{ value: 'a@x' }],
    })
    expect(mergeDocument({ title: 'x' }, { title: null }, true)).toEqual({ title: null })
  })
})
