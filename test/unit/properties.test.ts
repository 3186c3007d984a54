import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ENTERPRISE_USER_SCHEMA } from '../../src/scim/constants'
import { ScimError } from '../../src/scim/errors'
import { stringify, type Filter } from '../../src/scim/filter/ast'
import { parseFilter } from '../../src/scim/filter/parse'
import { applyPatch, type PatchOperation } from '../../src/scim/patch'
import { parseResource, type ScimObject } from '../../src/scim/resource'
import { USER_RESOURCE } from '../../src/scim/schemas/registry'

const attrPath = fc.constantFrom(
  'userName',
  'name.familyName',
  'emails.value',
  'meta.lastModified',
  `${ENTERPRISE_USER_SCHEMA}:department`,
  'x$y-z'
)
const value = fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -99, max: 99 }), fc.boolean(), fc.constant(null))
const filter: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small' },
    fc.record({ op: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'), attr: attrPath, value }) as fc.Arbitrary<Filter>,
    fc.record({ op: fc.constant('pr'), attr: attrPath }) as fc.Arbitrary<Filter>,
    fc.record({ op: fc.constantFrom('and', 'or'), left: tie('f'), right: tie('f') }) as fc.Arbitrary<Filter>,
    fc.record({ op: fc.constant('not'), filter: tie('f') }) as fc.Arbitrary<Filter>,
    fc.record({
      op: fc.constant('[]'),
      attr: fc.constantFrom('emails', 'addresses'),
      filter: fc.record({ op: fc.constant('eq'), attr: fc.constantFrom('type', 'value'), value }),
    }) as fc.Arbitrary<Filter>
  ),
})).f

describe('filter text', () => {
  it('parse(stringify(ast)) is ast', () => {
    fc.assert(
      fc.property(filter, (f) => {
        expect(parseFilter(stringify(f))).toEqual(f)
      }),
      { numRuns: 500, seed: 42 }
    )
  })

  it('parsing arbitrary text either succeeds or fails with invalidFilter, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          parseFilter(text)
        } catch (e) {
          expect(e).toBeInstanceOf(ScimError)
          expect((e as ScimError).scimType).toBe('invalidFilter')
        }
      }),
      { numRuns: 1000, seed: 42 }
    )
  })
})

const paths = fc.constantFrom(
  undefined,
  'userName',
  'displayName',
  'active',
  'title',
  'name',
  'name.givenName',
  'emails',
  'emails[type eq "work"].value',
  'emails[type eq "home"]',
  'emails[value co "@"].primary',
  'phoneNumbers',
  `${ENTERPRISE_USER_SCHEMA}:department`,
  `${ENTERPRISE_USER_SCHEMA}:manager.value`,
  'groups',
  'id',
  'meta.created',
  'nonsense',
  'emails[type eq',
  'password'
)
const patchValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('True', 'false', 'x@y.z'),
  fc.boolean(),
  fc.integer(),
  fc.constant(null),
  fc.record({ givenName: fc.string({ maxLength: 4 }) }),
  fc.array(fc.record({ value: fc.constantFrom('a@x.com', 'b@x.com'), type: fc.constantFrom('work', 'home'), primary: fc.boolean() }), {
    maxLength: 3,
  }),
  fc.record({ displayName: fc.string({ maxLength: 4 }), 'name.familyName': fc.string({ maxLength: 4 }) }),
  fc.record({ active: fc.constantFrom(true, 'False') })
)
const operation: fc.Arbitrary<PatchOperation> = fc
  .record({ op: fc.constantFrom('add', 'replace', 'remove'), path: paths, value: patchValue }, { requiredKeys: ['op'] })
  .map((o) => ({ op: o.op, ...(o.path !== undefined ? { path: o.path } : {}), ...(o.value !== undefined ? { value: o.value } : {}) }))

describe('PATCH', () => {
  const start = (): ScimObject =>
    parseResource(USER_RESOURCE, {
      userName: 'p@example.com',
      name: { givenName: 'P' },
      active: true,
      emails: [{ value: 'p@example.com', type: 'work', primary: true }],
    })

  it('random operation sequences yield a valid resource, or a ScimError and no change', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 6 }), (ops) => {
        const doc = start()
        const before = JSON.stringify(doc)
        try {
          const { doc: next } = applyPatch(doc, ops, { rt: USER_RESOURCE, id: 'u1' })
          // The result is what the schema accepts, unchanged by validating it again.
          expect(parseResource(USER_RESOURCE, next)).toEqual(next)
          expect(typeof next.userName).toBe('string')
          const primaries = ((next.emails as ScimObject[] | undefined) ?? []).filter((e) => e.primary === true)
          expect(primaries.length).toBeLessThanOrEqual(1)
          expect(next.password).toBeUndefined()
        } catch (e) {
          if (!(e instanceof ScimError)) throw e
          expect(e.status).toBe(400)
        }
        expect(JSON.stringify(doc)).toBe(before)
      }),
      { numRuns: 2000, seed: 42 }
    )
  })
})
