import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  call,
  ERROR_SCHEMA,
  GROUP_SCHEMA,
  newIntegration,
  PATCH_OP,
  USER_SCHEMA,
  userBody,
  type Reply,
  type ScimClient,
} from '../helpers/http'

/*
 * Hostile input at every SCIM endpoint and the application API, as whole requests: never a 5xx,
 * every error RFC 7644 JSON, bounded time, and no partial write (a refused write leaves the
 * directory as it was). FUZZ_RUNS (vitest.config.ts passes it through) sets the cases per property.
 */

const RUNS = Number(env.FUZZ_RUNS) || 400
// A request that takes longer than this has hung, on this machine's workerd.
const MAX_MS = 5000
// The whole of one property, at FUZZ_RUNS cases.
const PROPERTY_MS = Math.max(60_000, RUNS * 200)

// The listed values as often as the random ones: they are the ones parsers and SQL trip on.
const hostileString = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), {
  weight: 2,
  arbitrary: fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\uD800',
    'x\uDFFFy',
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    '%',
    '_',
    '\\',
    '*/',
    'userName eq "x"',
    '__proto__',
    'constructor',
    '🙂'.repeat(50),
    'a'.repeat(5000)
  ),
})
const hostileKey = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'schemas', 'userName', 'members', 'Operations', 'emails', 'active', 'id', 'meta')
)
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(hostileKey, tie('v'), { maxKeys: 6 })
  ),
})).v

/** A body: JSON that looks like a resource, any JSON, deeply nested JSON, or bytes that are not JSON or not UTF-8. */
const body = fc.oneof(
  fc
    .record({ schemas: fc.constant([USER_SCHEMA]), userName: hostileString }, { requiredKeys: ['schemas'] })
    .chain((base) => fc.dictionary(hostileKey, hostileJson, { maxKeys: 5 }).map((extra) => JSON.stringify({ ...extra, ...base }))),
  hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 100, max: 5000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => new TextDecoder('latin1').decode(bytes)),
  fc.constantFrom('', '{', '{"schemas":', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '\uFEFF{}')
)

function expectScimError(reply: Reply, what: string) {
  expect(reply.status, `${what}: ${JSON.stringify(reply.body)?.slice(0, 300)}`).toBeLessThan(500)
  if (reply.status >= 400) {
    expect(reply.body?.schemas, what).toEqual([ERROR_SCHEMA])
    expect(reply.body.status, what).toBe(String(reply.status))
    expect(typeof reply.body.detail === 'string' && reply.body.detail.length > 0, what).toBe(true)
  }
}

async function timed(request: () => Promise<Reply>): Promise<Reply> {
  const started = Date.now()
  const reply = await request()
  expect(Date.now() - started, 'time per request').toBeLessThan(MAX_MS)
  return reply
}

/** What scripts/suite-report.mjs counts: the cases a property ran, once it has passed. */
const ran = (what: string) => console.log(`fuzz cases: ${RUNS} ${what}`)

const totalUsers = async (scim: ScimClient) => (await scim.get('/Users?count=0')).body.totalResults as number

describe('hostile requests', () => {
  let token: string
  let scim: ScimClient
  let userId: string
  let groupId: string
  let apiKey: string

  beforeAll(async () => {
    ;({ token, scim } = await newIntegration(`fuzz ${Date.now()}`))
    userId = (await scim.post('/Users', userBody('fuzz.target@example.com'))).body.id
    groupId = (await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'fuzz target' })).body.id
    apiKey = (await admin('POST', '/api-keys', { name: 'fuzz', scope: 'write' })).body.token
  })

  it(
    'bodies of POST, PUT and PATCH on Users and Groups, Bulk and .search: no 5xx, errors as SCIM JSON, no partial write',
    async () => {
      const before = await totalUsers(scim)
      let created = 0
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            ['POST', '/Users'],
            ['PUT', `/Users/${userId}`],
            ['PATCH', `/Users/${userId}`],
            ['POST', '/Groups'],
            ['PATCH', `/Groups/${groupId}`],
            ['POST', '/Bulk'],
            ['POST', '/.search'],
            ['POST', '/Users/.search']
          ),
          body,
          async ([method, path], raw) => {
            const version = (await scim.get(`/Users/${userId}`)).body.meta.version
            const reply = await timed(() =>
              call(method, `/scim/v2${path}`, { token, raw, headers: { 'content-type': 'application/scim+json' } })
            )
            expectScimError(reply, `${method} ${path} ${raw.slice(0, 200)}`)
            if (method === 'POST' && path === '/Users' && reply.status === 201) created++
            if (path === '/Bulk' && reply.status === 200)
              created += (reply.body.Operations as { method: string; status: string; location?: string }[]).filter(
                (o) => o.method === 'POST' && o.status === '201' && o.location?.includes('/Users/')
              ).length
            // A refused write to the target user changed nothing about it.
            if (path === `/Users/${userId}` && reply.status >= 400)
              expect((await scim.get(`/Users/${userId}`)).body.meta.version).toBe(version)
          }
        ),
        { numRuns: RUNS }
      )
      ran('request bodies')
      // Exactly the creates that answered 201 left a user behind: nothing refused was half-written.
      expect(await totalUsers(scim)).toBe(before + created)
      // No prototype anywhere in this isolate was polluted.
      expect(Object.keys(Object.prototype)).toEqual([])
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    },
    PROPERTY_MS
  )

  it(
    'PATCH operations with hostile paths and values: no 5xx, and a refused PATCH leaves the user as it was',
    async () => {
      const path = fc.oneof(
        hostileString,
        fc.constantFrom(
          'emails[type eq "work"].value',
          'name.givenName',
          'members[value eq "x"]',
          'emails[',
          'a.b.c.d',
          `${USER_SCHEMA}:userName`
        )
      )
      const op = fc.record(
        { op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'Add', 'REPLACE'), hostileString), path, value: hostileJson },
        { requiredKeys: ['op'] }
      )
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 4 }), async (ops) => {
          const before = (await scim.get(`/Users/${userId}`)).body
          const reply = await timed(() =>
            call('PATCH', `/scim/v2/Users/${userId}`, { token, body: { schemas: [PATCH_OP], Operations: ops } })
          )
          expectScimError(reply, JSON.stringify(ops).slice(0, 300))
          if (reply.status >= 400) expect((await scim.get(`/Users/${userId}`)).body).toEqual(before)
        }),
        { numRuns: RUNS }
      )
      ran('PATCH operations')
    },
    PROPERTY_MS
  )

  it(
    'query strings of the SCIM lists and the application API: no 5xx, errors as JSON',
    async () => {
      const filterText = fc.oneof(
        { weight: 4, arbitrary: hostileString },
        fc.integer({ min: 1, max: 3000 }).map((n) => '('.repeat(n) + 'userName eq "a"' + ')'.repeat(n)),
        fc.integer({ min: 1, max: 500 }).map((n) => Array(n).fill('userName eq "a"').join(' or ')),
        fc.integer({ min: 1, max: 2000 }).map((n) => 'not ('.repeat(n) + 'active eq true' + ')'.repeat(n))
      )
      // Mostly valid values with a hostile one here and there, so that a hostile value is not always
      // refused by an earlier, stricter parameter before it reaches its own parser.
      const sometimes = (valid: fc.Arbitrary<string>) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostileString })
      const query = fc.record(
        {
          filter: fc.oneof({ weight: 3, arbitrary: filterText }, { weight: 1, arbitrary: fc.constant('userName sw "a"') }),
          startIndex: sometimes(fc.integer({ min: 1, max: 50 }).map(String)),
          count: sometimes(fc.integer({ min: 0, max: 100 }).map(String)),
          sortBy: sometimes(fc.constantFrom('userName', 'meta.lastModified', 'displayName')),
          sortOrder: sometimes(fc.constantFrom('ascending', 'descending')),
          attributes: sometimes(fc.constantFrom('userName', 'emails.value', 'members')),
          excludedAttributes: sometimes(fc.constantFrom('members', 'groups')),
          cursor: hostileString,
          q: sometimes(fc.constantFrom('ad', 'fuzz', 'x')),
          status: sometimes(fc.constantFrom('active', 'archived', 'all')),
          limit: sometimes(fc.integer({ min: 1, max: 500 }).map(String)),
          updatedSince: sometimes(fc.constant('2026-01-01T00:00:00Z')),
          after: sometimes(fc.constantFrom('0', 'latest')),
          types: sometimes(fc.constantFrom('user.created', 'group.member_added,user.updated')),
        },
        { requiredKeys: [] }
      )
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            '/scim/v2/Users',
            '/scim/v2/Groups',
            '/api/v1/users',
            '/api/v1/groups',
            '/api/v1/events',
            `/api/v1/groups/${groupId}/members`
          ),
          query,
          async (path, params) => {
            const qs = new URLSearchParams(params as Record<string, string>).toString()
            const credential = path.startsWith('/scim') ? token : apiKey
            const reply = await timed(() => call('GET', `${path}?${qs}`, { token: credential }))
            expectScimError(reply, `${path}?${qs.slice(0, 300)}`)
          }
        ),
        { numRuns: RUNS }
      )
      ran('query strings')
    },
    PROPERTY_MS
  )

  it('a multi-megabyte body is refused with 413 before it is parsed', async () => {
    const huge = JSON.stringify({ ...userBody('huge@example.com'), displayName: 'x'.repeat(3 * 1024 * 1024) })
    const reply = await call('POST', '/scim/v2/Users', { token, raw: huge, headers: { 'content-type': 'application/scim+json' } })
    expect(reply.status).toBe(413)
    expect(reply.body.schemas).toEqual([ERROR_SCHEMA])
    expect((await scim.get('/Users?filter=userName eq "huge@example.com"')).body.totalResults).toBe(0)
  })
})
