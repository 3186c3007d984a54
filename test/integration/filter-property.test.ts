import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { stringify, type Filter } from '../../src/scim/filter/ast'
import { evaluate, resourceScope } from '../../src/scim/filter/evaluate'
import { USER_RESOURCE } from '../../src/scim/schemas/registry'
import { newIntegration, userBody, type Json, type ScimClient } from '../helpers/http'

/*
 * The SQL a filter compiles to and the in-memory evaluator (used by PATCH value filters) are two
 * implementations of RFC 7644 §3.4.2.2. For random users and random filters, D1 must select exactly
 * the users the evaluator accepts.
 */

// Beyond ASCII, where SQLite's lower() and JavaScript's folding part ways: accents, German ß,
// Turkish dotted and dotless i, Greek sigma (final and not), full-width letters.
const word = fc.constantFrom(
  'al',
  'Al',
  'bo',
  'BO',
  'cy',
  'dee',
  'x',
  '',
  'émile',
  'ÉMILE',
  'Straße',
  'STRASSE',
  'ı',
  'İ',
  'I',
  'ΣΟΦΙΑ',
  'σοφια',
  'ＡＬ',
  'ａｌ'
)
const email = fc.tuple(fc.constantFrom('al', 'bo', 'cy'), fc.constantFrom('a.example', 'B.example')).map(([u, d]) => `${u}@${d}`)
const user = fc.record(
  {
    userName: fc.tuple(word, fc.nat(999)).map(([w, n]) => `${w}${n}`),
    title: word,
    displayName: word,
    familyName: word,
    active: fc.boolean(),
    emails: fc.array(fc.record({ value: email, type: fc.constantFrom('work', 'home', 'Work') }), { maxLength: 2 }),
  },
  { requiredKeys: ['userName', 'active'] }
)

const stringAttr = fc.constantFrom('userName', 'title', 'name.familyName', 'emails.value', 'emails.type', 'displayName', 'externalId')
const compare: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({
    op: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'),
    attr: stringAttr,
    value: word,
  }) as fc.Arbitrary<Filter>,
  fc.record({ op: fc.constant('pr'), attr: stringAttr }) as fc.Arbitrary<Filter>,
  fc.record({ op: fc.constantFrom('eq', 'ne'), attr: fc.constant('active'), value: fc.boolean() }) as fc.Arbitrary<Filter>,
  fc.record({
    op: fc.constant('[]'),
    attr: fc.constant('emails'),
    filter: fc.oneof(
      fc.record({
        op: fc.constantFrom('eq', 'co', 'sw'),
        attr: fc.constantFrom('value', 'type'),
        value: fc.constantFrom('work', 'al', 'a.example', 'HOME'),
      }),
      fc.record({ op: fc.constant('pr'), attr: fc.constant('value') })
    ),
  }) as fc.Arbitrary<Filter>
)
const filter: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    compare,
    fc.record({ op: fc.constantFrom('and', 'or'), left: tie('f'), right: tie('f') }) as fc.Arbitrary<Filter>,
    fc.record({ op: fc.constant('not'), filter: tie('f') }) as fc.Arbitrary<Filter>
  ),
})).f

let scim: ScimClient
let everyone: Json[]

beforeAll(async () => {
  ;({ scim } = await newIntegration())
  const users = fc.sample(user, { numRuns: 60, seed: 7 })
  const seen = new Set<string>()
  for (const u of users) {
    if (seen.has(u.userName.toLowerCase())) continue
    seen.add(u.userName.toLowerCase())
    const body = userBody(u.userName, {
      active: u.active,
      ...(u.title !== undefined ? { title: u.title } : {}),
      ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
      ...(u.familyName !== undefined ? { name: { familyName: u.familyName } } : {}),
      ...(u.emails?.length ? { emails: u.emails } : {}),
    })
    const res = await scim.post('/Users', body)
    if (res.status !== 201) throw new Error(JSON.stringify(res.body))
  }
  everyone = (await scim.get('/Users?count=1000')).body.Resources
})

describe('filters: D1 selects exactly what the evaluator accepts', () => {
  it('holds for random filters over random users', async () => {
    const scope = resourceScope(USER_RESOURCE)
    await fc.assert(
      fc.asyncProperty(filter, async (f) => {
        const text = stringify(f)
        const res = await scim.get(`/Users?count=1000&filter=${encodeURIComponent(text)}`)
        expect(res.status, `${text}: ${JSON.stringify(res.body)}`).toBe(200)
        const fromSql = res.body.Resources.map((r: { id: string }) => r.id).sort()
        const inMemory = everyone
          .filter((r) => evaluate(f, r, scope))
          .map((r) => r.id as string)
          .sort()
        expect(fromSql, text).toEqual(inMemory)
      }),
      { numRuns: 200, seed: 42 }
    )
  })
})
