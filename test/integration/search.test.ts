import { describe, expect, it } from 'vitest'
import { call, newIntegration, userBody } from '../helpers/http'

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

describe('POST /.search (RFC 7644 §3.4.3)', () => {
  it('searches Users and Groups with the same semantics as GET', async () => {
    const { scim } = await newIntegration()
    for (const name of ['ann', 'bob', 'cid']) await scim.post('/Users', userBody(`${name}@example.com`, { title: name.toUpperCase() }))
    await scim.post('/Groups', { displayName: 'Searchers' })

    const res = await scim.post('/Users/.search', {
      schemas: [SEARCH],
      filter: 'userName ew "@example.com"',
      startIndex: 2,
      count: 1,
      attributes: ['userName'],
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/scim+json')
    expect(res.body).toMatchObject({ totalResults: 3, itemsPerPage: 1, startIndex: 2 })
    expect(Object.keys(res.body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName'])

    const viaGet = await scim.get(
      `/Users?filter=${encodeURIComponent('userName ew "@example.com"')}&startIndex=2&count=1&attributes=userName`
    )
    expect(res.body.Resources).toEqual(viaGet.body.Resources)

    const groups = await scim.post('/Groups/.search', {
      schemas: [SEARCH],
      filter: 'displayName eq "searchers"',
      excludedAttributes: 'members',
    })
    expect(groups.body.totalResults).toBe(1)
  })

  it('rejects a malformed SearchRequest with 400 and needs the token', async () => {
    const { scim } = await newIntegration()
    expect((await scim.post('/Users/.search', { schemas: [SEARCH], count: 'ten' })).body).toMatchObject({
      status: '400',
      scimType: 'invalidValue',
    })
    expect((await scim.post('/Users/.search', { schemas: ['urn:wrong'] })).status).toBe(400)
    expect((await scim.post('/Users/.search', { filter: 'userName eq' })).body.scimType).toBe('invalidFilter')
    expect((await call('POST', '/scim/v2/Users/.search', { body: { schemas: [SEARCH] } })).status).toBe(401)
  })
})

describe('POST /.search at the root', () => {
  it('searches Users then Groups in one result set, paged by index', async () => {
    const { scim } = await newIntegration()
    for (const n of ['u1', 'u2', 'u3']) await scim.post('/Users', userBody(`${n}@example.com`))
    for (const n of ['g1', 'g2']) await scim.post('/Groups', { displayName: n })

    const all = await scim.post('/.search', { schemas: [SEARCH] })
    expect(all.status).toBe(200)
    expect(all.body.totalResults).toBe(5)
    expect(all.body.Resources.map((r: { schemas: string[] }) => r.schemas[0]!.split(':').pop())).toEqual([
      'User',
      'User',
      'User',
      'Group',
      'Group',
    ])

    const window = await scim.post('/.search', { schemas: [SEARCH], startIndex: 3, count: 2 })
    expect(window.body).toMatchObject({ totalResults: 5, itemsPerPage: 2, startIndex: 3 })
    expect(window.body.Resources.map((r: { schemas: string[] }) => r.schemas[0]!.split(':').pop())).toEqual(['User', 'Group'])
    const tail = await scim.post('/.search', { schemas: [SEARCH], startIndex: 5, count: 2 })
    expect(tail.body.Resources).toEqual([all.body.Resources[4]])
  })

  it('leaves out resource types that lack the filtered attribute', async () => {
    const { scim } = await newIntegration()
    await scim.post('/Users', userBody('only@example.com'))
    await scim.post('/Groups', { displayName: 'only' })
    const users = await scim.post('/.search', { schemas: [SEARCH], filter: 'userName eq "only@example.com"' })
    expect(users.body.totalResults).toBe(1)
    const both = await scim.post('/.search', { schemas: [SEARCH], filter: 'meta.created pr' })
    expect(both.body.totalResults).toBe(2)
    expect((await scim.post('/.search', { schemas: [SEARCH], filter: 'shoeSize eq 9' })).body.scimType).toBe('invalidFilter')
    expect((await scim.post('/.search', { schemas: [SEARCH], sortBy: 'userName' })).status).toBe(400)
    expect((await call('POST', '/scim/v2/.search', { body: { schemas: [SEARCH] } })).status).toBe(401)
  })
})
