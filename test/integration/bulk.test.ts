import { describe, expect, it } from 'vitest'
import { GROUP_SCHEMA, newIntegration, PATCH_OP, USER_SCHEMA, userBody } from '../helpers/http'

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'

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
    const many = Array.from({ length: 1001 }, (_, i) => ({ method: 'DELETE', path: `/Users/${i}` }))
    const tooMany = await scim.post('/Bulk', { schemas: [BULK], Operations: many })
    expect(tooMany.status).toBe(413)
    expect(tooMany.body.detail).toContain('1000')
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
    expect((await scim.get('/ServiceProviderConfig')).body.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 })
  })
})
