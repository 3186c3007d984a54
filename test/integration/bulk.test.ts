import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { maxBulkOperations } from '../../src/scim/constants'
import { GROUP_SCHEMA, newIntegration, PATCH_OP, USER_SCHEMA, userBody } from '../helpers/http'

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
/** What this deployment's budget (wrangler.toml, 1000 queries) allows: 75. */
const MAX_OPERATIONS = maxBulkOperations(1000)

describe('POST /Bulk (RFC 7644 §3.7)', () => {
  it('runs operations in order, resolving bulkId references in data and paths', async () => {
    const { scim } = await newIntegration()
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [
        // The group names the user before the user's operation: it waits until the user exists.
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'grp',
          data: { schemas: [GROUP_SCHEMA], displayName: 'Bulk group', members: [{ value: 'bulkId:alice', type: 'User' }] },
        },
        { method: 'POST', path: '/Users', bulkId: 'alice', data: { schemas: [USER_SCHEMA], userName: 'alice@bulk.example' } },
        {
          method: 'PATCH',
          path: '/Users/bulkId:alice',
          data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] },
        },
        { method: 'DELETE', path: '/Users/no-such-user' },
      ],
    })
    expect(res.status).toBe(200)
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse'])
    const [group, user, patch, del] = res.body.Operations
    expect(user).toMatchObject({
      method: 'POST',
      bulkId: 'alice',
      status: '201',
      version: 'W/"1"',
      location: expect.stringMatching(/\/scim\/v2\/Users\//),
    })
    expect(group).toMatchObject({ method: 'POST', bulkId: 'grp', status: '201' })
    expect(patch).toMatchObject({ method: 'PATCH', status: '200', version: 'W/"2"' })
    expect(del).toMatchObject({ method: 'DELETE', status: '404', response: { status: '404' } })

    const userId = user.location.split('/').pop()
    const stored = await scim.get(`/Users/${userId}`)
    expect(stored.body).toMatchObject({ userName: 'alice@bulk.example', title: 'Lead' })
    expect(stored.body.groups.map((g: { display: string }) => g.display)).toEqual(['Bulk group'])
  })

  it('stops after failOnErrors errors', async () => {
    const { scim } = await newIntegration()
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'a', data: { userName: 'a@bulk.example' } },
        { method: 'POST', path: '/Users', bulkId: 'b', data: { userName: 'a@bulk.example' } },
        { method: 'POST', path: '/Users', bulkId: 'c', data: { userName: 'c@bulk.example' } },
      ],
    })
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '409'])
    expect((await scim.get('/Users')).body.totalResults).toBe(1)
  })

  it('passes version as If-Match', async () => {
    const { scim } = await newIntegration()
    const { body: u } = await scim.post('/Users', userBody('v@bulk.example'))
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [{ method: 'PUT', path: `/Users/${u.id}`, version: 'W/"5"', data: userBody('v@bulk.example', { title: 'x' }) }],
    })
    expect(res.body.Operations[0]).toMatchObject({ status: '412' })
  })

  it('answers unresolvable and circular references with 409', async () => {
    const { scim } = await newIntegration()
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [
        { method: 'POST', path: '/Groups', bulkId: 'g1', data: { displayName: 'G1', members: [{ value: 'bulkId:g2' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'g2', data: { displayName: 'G2', members: [{ value: 'bulkId:g1' }] } },
        { method: 'PATCH', path: '/Users/bulkId:nobody', data: { schemas: [PATCH_OP], Operations: [] } },
      ],
    })
    expect(res.body.Operations.map((o: { status: string }) => o.status).sort()).toEqual(['409', '409', '409'])
    expect((await scim.get('/Groups')).body.totalResults).toBe(0)
  })

  it('enforces maxOperations (413), the body limit (413) and the request shape (400)', async () => {
    const { scim } = await newIntegration()
    const many = Array.from({ length: MAX_OPERATIONS + 1 }, (_, i) => ({ method: 'DELETE', path: `/Users/${i}` }))
    const tooMany = await scim.post('/Bulk', { schemas: [BULK], Operations: many })
    expect(tooMany.status).toBe(413)
    expect(tooMany.body.detail).toContain(`at most ${MAX_OPERATIONS}`)
    expect(
      (
        await scim.post('/Bulk', {
          schemas: [BULK],
          Operations: [{ method: 'POST', path: '/Users', bulkId: 'x', data: { userName: 'x'.repeat(1_100_000) } }],
        })
      ).status
    ).toBe(413)
    expect((await scim.post('/Bulk', { schemas: ['urn:nope'], Operations: [] })).status).toBe(400)
    expect((await scim.post('/Bulk', { schemas: [BULK], Operations: [{ method: 'GET', path: '/Users' }] })).body.scimType).toBe(
      'invalidSyntax'
    )
    const badPath = await scim.post('/Bulk', { schemas: [BULK], Operations: [{ method: 'DELETE', path: '/Bulk' }] })
    expect(badPath.body.Operations[0]).toMatchObject({ status: '400', response: { scimType: 'invalidPath' } })
  })

  it('is advertised in ServiceProviderConfig', async () => {
    const { scim } = await newIntegration()
    expect((await scim.get('/ServiceProviderConfig')).body.bulk).toEqual({
      supported: true,
      maxOperations: MAX_OPERATIONS,
      maxPayloadSize: 1048576,
    })
  })
})

describe("Bulk within D1's per-invocation query budget", () => {
  // The deployed limit (D1_QUERIES_PER_INVOCATION, 1000 on the paid plan); Miniflare does not enforce it.
  const BUDGET = 1000

  it('a Bulk of maxOperations ordinary writes stays inside the budget', async () => {
    const { scim } = await newIntegration()
    const operations: unknown[] = [
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_SCHEMA], displayName: 'Budget' } },
    ]
    for (let i = 1; i < MAX_OPERATIONS; i++) {
      const u = Math.floor((i - 1) / 4)
      const emails = [1, 2, 3].map((n) => ({ value: `u${u}.${n}@budget.example`, type: n === 1 ? 'work' : 'other' }))
      const op = [
        { method: 'POST', path: '/Users', bulkId: `u${u}`, data: userBody(`u${u}@budget.example`, { emails }) },
        {
          method: 'PATCH',
          path: '/Groups/bulkId:g',
          data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: `bulkId:u${u}` }] }] },
        },
        { method: 'PUT', path: `/Users/bulkId:u${u}`, data: userBody(`u${u}@budget.example`, { emails, title: 'Put' }) },
        {
          method: 'PATCH',
          path: `/Users/bulkId:u${u}`,
          data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: `U ${u}` }] },
        },
      ][(i - 1) % 4]
      operations.push(op)
    }
    const res = await scim.post('/Bulk', { schemas: [BULK], Operations: operations })
    expect(res.status).toBe(200)
    expect(res.body.Operations).toHaveLength(MAX_OPERATIONS)
    expect(res.body.Operations.filter((o: { status: string }) => Number(o.status) >= 400)).toEqual([])
    expect(Number(res.headers.get('x-d1-queries'))).toBeLessThanOrEqual(BUDGET)
  })

  it('does not start operations that would not fit once heavy ones have used the budget, and says so', async () => {
    const { id, scim } = await newIntegration()
    // A write is a handful of statements whatever its size; what is heavy is a failure that must say
    // which of 400 members is unknown (its batch, then a lookup of 2 statements per 90 ids). Two in
    // three operations fail so, and fewer than the most operations a bulk may hold fit in the
    // budget; short ids keep the body under 1 MB.
    const prefix = id.slice(0, 6)
    const seq = 'WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 400)'
    await env.DB.prepare(
      `${seq} INSERT INTO users (id, integration_id, user_name, user_name_key, active, data, version, created_at, updated_at)
       SELECT ?2 || n, ?1, 'b' || n, 'b' || n, 1, json_object('userName', 'b' || n, 'active', json('true')), 1, '2026-01-01', '2026-01-01' FROM seq`
    )
      .bind(id, prefix)
      .run()
    const members = Array.from({ length: 400 }, (_, n) => ({ value: `${prefix}${n + 1}` }))
    const operations = Array.from({ length: MAX_OPERATIONS }, (_, i) => ({
      method: 'POST',
      path: '/Groups',
      bulkId: `g${i}`,
      data: {
        schemas: [GROUP_SCHEMA],
        displayName: `Heavy ${i}`,
        members: i % 3 === 0 ? members : [...members.slice(1), { value: 'nobody' }],
      },
    }))
    const res = await scim.post('/Bulk', { schemas: [BULK], Operations: operations })
    const statuses = res.body.Operations.map((o: { status: string }) => o.status)
    expect(statuses).toContain('201')
    expect(statuses).toContain('400')
    expect(statuses).toContain('413')
    // Every operation that ran, ran whole; none after the first one refused.
    expect(statuses.slice(statuses.indexOf('413')).every((s: string) => s === '413')).toBe(true)
    expect(res.body.Operations.find((o: { status: string }) => o.status === '413').response.detail).toContain('Not run')
    expect(Number(res.headers.get('x-d1-queries'))).toBeLessThanOrEqual(BUDGET)
    const groups = await env.DB.prepare('SELECT count(*) AS n FROM groups WHERE integration_id = ?').bind(id).first<{ n: number }>()
    expect(groups!.n).toBe(statuses.filter((s: string) => s === '201').length)
  })
})
