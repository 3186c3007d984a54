import { describe, expect, it } from 'vitest'
import { ENTERPRISE_USER_SCHEMA } from '../../src/scim/constants'
import { scimError } from '../helpers/scim-error'
import { applyPatch, externalChanges, parsePatchRequest } from '../../src/scim/patch'
import { parseResource, type ScimObject } from '../../src/scim/resource'
import { GROUP_RESOURCE, USER_RESOURCE } from '../../src/scim/schemas/registry'

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

const user = (): ScimObject =>
  parseResource(USER_RESOURCE, {
    userName: 'bjensen@example.com',
    name: { givenName: 'Barbara', familyName: 'Jensen' },
    active: true,
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@home.example', type: 'home' },
    ],
    [ENTERPRISE_USER_SCHEMA]: { department: 'Sales' },
  })

const patchUser = (doc: ScimObject, ops: unknown[]) =>
  applyPatch(doc, parsePatchRequest({ schemas: [PATCH], Operations: ops }), { rt: USER_RESOURCE, id: 'u1' })
const patchGroup = (doc: ScimObject, ops: unknown[]) =>
  applyPatch(doc, parsePatchRequest({ schemas: [PATCH], Operations: ops }), { rt: GROUP_RESOURCE, id: 'g1', external: ['members'] })

describe('parsePatchRequest', () => {
  it('accepts op names in any case and an empty Operations array', () => {
    expect(parsePatchRequest({ schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })).toEqual([
      { op: 'replace', path: 'active', value: 'False' },
    ])
    expect(parsePatchRequest({ schemas: [PATCH], Operations: [] })).toEqual([])
  })

  it('rejects an unknown op, a missing Operations array and a wrong schema with invalidSyntax', () => {
    expect(scimError(() => parsePatchRequest({ schemas: [PATCH], Operations: [{ op: 'merge', path: 'x' }] })).scimType).toBe(
      'invalidSyntax'
    )
    expect(scimError(() => parsePatchRequest({ schemas: [PATCH] })).detail).toMatch(/Operations/)
    expect(scimError(() => parsePatchRequest({ schemas: ['urn:x'], Operations: [] })).detail).toMatch(/PatchOp/)
  })
})

describe('applyPatch on users', () => {
  it("applies Entra's default dialect: capitalised ops and string booleans", () => {
    const { doc } = patchUser(user(), [
      { op: 'Replace', path: 'active', value: 'False' },
      { op: 'Add', path: 'title', value: 'Manager' },
    ])
    expect(doc.active).toBe(false)
    expect(doc.title).toBe('Manager')
  })

  it("applies Entra's aadOptscim062020 dialect: path-less replace with dotted and URN-qualified keys", () => {
    const { doc } = patchUser(user(), [
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' },
      {
        op: 'replace',
        value: {
          displayName: 'Bjfe',
          'name.givenName': 'Kkom',
          'name.familyName': 'Unua',
          [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: 'Aklq',
        },
      },
    ])
    expect(doc.displayName).toBe('Bjfe')
    expect(doc.name).toEqual({ givenName: 'Kkom', familyName: 'Unua' })
    expect(doc[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Sales', employeeNumber: 'Aklq' })
    expect(doc.emails).toEqual([
      { value: 'new@example.com', type: 'work', primary: true },
      { value: 'babs@home.example', type: 'home' },
    ])
  })

  it("applies Okta's path-less deactivate", () => {
    expect(patchUser(user(), [{ op: 'replace', value: { active: false } }]).doc.active).toBe(false)
  })

  it('creates the value when a filtered path matches nothing (Entra sets a work email on a user without one)', () => {
    const doc = parseResource(USER_RESOURCE, { userName: 'x' })
    const result = patchUser(doc, [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'x@example.com' }])
    expect(result.doc.emails).toEqual([{ type: 'work', value: 'x@example.com' }])
  })

  it('merges sub-attributes of a complex attribute on replace and add', () => {
    const { doc } = patchUser(user(), [{ op: 'replace', path: 'name', value: { middleName: 'J' } }])
    expect(doc.name).toEqual({ givenName: 'Barbara', familyName: 'Jensen', middleName: 'J' })
  })

  it('adds to multi-valued attributes, keeping a single primary', () => {
    const { doc } = patchUser(user(), [{ op: 'add', path: 'emails', value: [{ value: 'new@x.com', type: 'other', primary: 'True' }] }])
    const emails = doc.emails as ScimObject[]
    expect(emails).toHaveLength(3)
    expect(emails.filter((e) => e.primary === true)).toEqual([{ value: 'new@x.com', type: 'other', primary: true }])
  })

  it('removes attributes, sub-attributes and filtered values', () => {
    const { doc } = patchUser(user(), [
      { op: 'remove', path: 'name.familyName' },
      { op: 'remove', path: 'emails[type eq "home"]' },
      { op: 'Remove', path: `${ENTERPRISE_USER_SCHEMA}:department` },
    ])
    expect(doc.name).toEqual({ givenName: 'Barbara' })
    expect(doc.emails).toEqual([{ value: 'bjensen@example.com', type: 'work', primary: true }])
    expect(doc[ENTERPRISE_USER_SCHEMA]).toBeUndefined()
  })

  it('addresses a whole extension by its schema URN: replace replaces it, add merges into it, remove deletes it', () => {
    const start = patchUser(user(), [{ op: 'add', path: ENTERPRISE_USER_SCHEMA, value: { costCenter: '4130' } }]).doc
    expect(start[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Sales', costCenter: '4130' })
    const replaced = patchUser(start, [
      { op: 'replace', path: ENTERPRISE_USER_SCHEMA, value: { department: 'X', employeeNumber: '7' } },
    ]).doc
    expect(replaced[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'X', employeeNumber: '7' })
    // The URN in any case, as attribute names are.
    const removed = patchUser(replaced, [{ op: 'remove', path: ENTERPRISE_USER_SCHEMA.toUpperCase() }]).doc
    expect(removed[ENTERPRISE_USER_SCHEMA]).toBeUndefined()
    expect(scimError(() => patchUser(user(), [{ op: 'replace', path: ENTERPRISE_USER_SCHEMA, value: 'x' }])).scimType).toBe('invalidValue')
  })

  it("takes Entra's manager as a bare id, with a path or without", () => {
    const withPath = patchUser(user(), [
      { op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: '2819c223-7f76-453a-919d-413861904646' },
    ]).doc
    expect(withPath[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Sales', manager: { value: '2819c223-7f76-453a-919d-413861904646' } })
    const replaced = patchUser(withPath, [{ op: 'Replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'm2' }]).doc
    expect((replaced[ENTERPRISE_USER_SCHEMA] as ScimObject).manager).toEqual({ value: 'm2' })
    const pathless = patchUser(user(), [{ op: 'replace', value: { [`${ENTERPRISE_USER_SCHEMA}:manager`]: 'm3' } }]).doc
    expect((pathless[ENTERPRISE_USER_SCHEMA] as ScimObject).manager).toEqual({ value: 'm3' })
  })

  it('leaves no empty multi-valued attribute behind', () => {
    const { doc } = patchUser(user(), [
      { op: 'remove', path: 'emails[type eq "home"]' },
      { op: 'remove', path: 'emails[type eq "work"]' },
    ])
    expect('emails' in doc).toBe(false)
  })

  it('reports an unchanged document as not modified', () => {
    expect(patchUser(user(), [{ op: 'replace', path: 'active', value: true }]).modified).toBe(false)
    expect(patchUser(user(), [{ op: 'replace', path: 'active', value: false }]).modified).toBe(true)
  })

  it('is all or nothing and never mutates its input', () => {
    const doc = user()
    const before = JSON.stringify(doc)
    const err = scimError(() =>
      patchUser(doc, [
        { op: 'replace', path: 'title', value: 'CEO' },
        { op: 'replace', path: 'shoeSize', value: 9 },
      ])
    )
    expect(err.scimType).toBe('invalidPath')
    expect(err.detail).toMatch(/^Operations\[1\]/)
    expect(JSON.stringify(doc)).toBe(before)
  })

  it.each([
    [{ op: 'remove' }, 'noTarget'],
    [{ op: 'replace', path: 'groups', value: [] }, 'mutability'],
    [{ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }, 'mutability'],
    [{ op: 'replace', path: 'id', value: 'other' }, 'mutability'],
    [{ op: 'replace', path: 'active', value: 'maybe' }, 'invalidValue'],
    [{ op: 'remove', path: 'userName' }, 'invalidValue'],
    [{ op: 'replace', path: 'emails[type xx "work"].value', value: 'x' }, 'invalidPath'],
    [{ op: 'add', path: '__proto__.polluted', value: 'yes' }, 'invalidPath'],
  ])('rejects %j with %s', (op, scimType) => {
    expect(scimError(() => patchUser(user(), [op])).scimType).toBe(scimType)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('replaces every value an or filter matches', () => {
    const { doc } = patchUser(user(), [{ op: 'replace', path: 'emails[type eq "work" or type eq "home"].display', value: 'x' }])
    expect((doc.emails as ScimObject[]).map((e) => e.display)).toEqual(['x', 'x'])
  })

  it('refuses to create a value for a filter it cannot construct from (noTarget)', () => {
    expect(scimError(() => patchUser(user(), [{ op: 'replace', path: 'emails[value co "nobody"].type', value: 'work' }])).scimType).toBe(
      'noTarget'
    )
  })

  it('accepts and drops a password', () => {
    const { doc, modified } = patchUser(user(), [{ op: 'replace', path: 'password', value: 'hunter2' }])
    expect(doc.password).toBeUndefined()
    expect(modified).toBe(false)
  })
})

describe('applyPatch on groups', () => {
  const group = () => parseResource(GROUP_RESOURCE, { displayName: 'Engineering' })

  it("turns member operations into membership changes (Entra's add, both remove forms)", () => {
    const result = patchGroup(group(), [
      { op: 'Add', path: 'members', value: [{ $ref: null, value: 'u1' }, { value: 'u2' }] },
      { op: 'Remove', path: 'members', value: [{ value: 'u1' }] },
      { op: 'remove', path: 'members[value eq "u2"]' },
    ])
    expect(result.changes).toEqual([
      { kind: 'add', values: [{ value: 'u1' }, { value: 'u2' }] },
      { kind: 'remove', ids: ['u1'] },
      { kind: 'remove', ids: ['u2'] },
    ])
    expect(result.modified).toBe(true)
    expect(result.doc).toEqual({ displayName: 'Engineering' })
  })

  it("applies Okta's rename that repeats the group's id, and its full member push", () => {
    const result = patchGroup(group(), [
      { op: 'replace', value: { id: 'g1', displayName: 'Eng' } },
      { op: 'replace', path: 'members', value: [{ value: 'u3', display: 'Someone' }] },
    ])
    expect(result.doc.displayName).toBe('Eng')
    expect(result.changes).toEqual([{ kind: 'clear' }, { kind: 'add', values: [{ value: 'u3' }] }])
  })

  it("accepts OneLogin's lower-case path-less member add", () => {
    expect(patchGroup(group(), [{ op: 'add', value: { members: [{ value: 'u9' }] } }]).changes).toEqual([
      { kind: 'add', values: [{ value: 'u9' }] },
    ])
  })

  it('removes all members with a bare remove, several with an or filter', () => {
    expect(patchGroup(group(), [{ op: 'remove', path: 'members' }]).changes).toEqual([{ kind: 'clear' }])
    expect(patchGroup(group(), [{ op: 'remove', path: 'members[value eq "a" or value eq "b"]' }]).changes).toEqual([
      { kind: 'remove', ids: ['a', 'b'] },
    ])
  })

  it('rejects member filters it cannot apply without loading the group', () => {
    expect(scimError(() => patchGroup(group(), [{ op: 'remove', path: 'members[display eq "x"]' }])).scimType).toBe('invalidPath')
    expect(scimError(() => patchGroup(group(), [{ op: 'add', path: 'members', value: [{ display: 'no id' }] }])).scimType).toBe(
      'invalidValue'
    )
  })

  it('refuses to change an immutable member sub-attribute', () => {
    expect(scimError(() => patchGroup(group(), [{ op: 'replace', path: 'members[value eq "u1"].type', value: 'Group' }])).scimType).toBe(
      'mutability'
    )
  })

  it('refuses to change the id or blank the displayName', () => {
    expect(scimError(() => patchGroup(group(), [{ op: 'replace', value: { id: 'g2' } }])).scimType).toBe('mutability')
    expect(scimError(() => patchGroup(group(), [{ op: 'replace', path: 'displayName', value: '' }])).scimType).toBe('invalidValue')
  })
})

describe('externalChanges: a membership PATCH worked out without the group', () => {
  const options = { rt: GROUP_RESOURCE, id: 'g1', external: ['members'] }
  const ops = (list: unknown[]) => parsePatchRequest({ schemas: [PATCH], Operations: list })
  const group = () => parseResource(GROUP_RESOURCE, { displayName: 'Engineering' })

  it('gives the changes applyPatch gives, for every form IdPs send', () => {
    const forms = [
      [{ op: 'add', path: 'members', value: [{ value: 'u1' }] }],
      [{ op: 'remove', path: 'members', value: [{ value: 'u1' }] }],
      [{ op: 'remove', path: 'members[value eq "u1" or value eq "u2"]' }],
      [{ op: 'replace', path: 'members', value: [{ value: 'u3' }] }],
      [{ op: 'add', value: { members: [{ value: 'u9' }] } }],
      [{ op: 'remove', path: 'members' }],
    ]
    for (const form of forms) expect(externalChanges(ops(form), options)).toEqual(applyPatch(group(), ops(form), options).changes)
  })

  it('needs the document as soon as an operation touches it, whatever comes after', () => {
    expect(externalChanges(ops([{ op: 'replace', path: 'displayName', value: 'Eng' }]), options)).toBeUndefined()
    expect(
      externalChanges(
        ops([
          { op: 'add', path: 'members', value: [{ value: 'u1' }] },
          { op: 'replace', value: { displayName: 'Eng', members: [{ value: 'u2' }] } },
        ]),
        options
      )
    ).toBeUndefined()
    // A bad member operation after one on the document is left for applyPatch, which reports it in order.
    expect(
      externalChanges(
        ops([
          { op: 'remove', path: 'displayName' },
          { op: 'remove', path: 'members[display eq "x"]' },
        ]),
        options
      )
    ).toBeUndefined()
  })

  it('throws what applyPatch throws for a bad member operation, and ignores a repeated id', () => {
    const bad = ops([{ op: 'remove', path: 'members[display eq "x"]' }])
    expect(scimError(() => externalChanges(bad, options))).toEqual(scimError(() => applyPatch(group(), bad, options)))
    expect(externalChanges(ops([{ op: 'replace', value: { id: 'g1' } }]), options)).toBeUndefined()
  })
})
