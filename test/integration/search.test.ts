import { describe, expect, it } from 'vitest'
import { call, newIntegration, userBody } from '../helpers/http'

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

describe('POST /.search (RFC 7644 §3.4.3)', () => {
  it('searches Users and Groups with the same semantics as GET', async () => {
    const { scim } = await newIntegration()
    for (const name of ['ann', 'bob', 'cid']) await scim.post('/Users', userBody(`${name}@example.com`, { title: name.toUpperCase() }))
    await scim.post('/Groups', { displayName: 'Searchers' })

    const res = await scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName ew "@example.com"', startIndex: 2, count: 1, attributes: ['userName'] })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/scim+json')
    expect(res.body).toMatchObject({ totalResults: 3, itemsPerPage: 1, startIndex: 2 })
    expect(Object.keys(res.body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName'])

    const viaGet = await scim.get(`/Users?filter=${encodeURIComponent('userName ew "@example.com"')}&startIndex=2&count=1&attributes=userName`)
    expect(res.body.Resources).toEqual(viaGet.body.Resources)

    const groups = await scim.post('/Groups/.search', { schemas: [SEARCH], filter: 'displayName eq "searchers"', excludedAttributes: 'members' })
    expect(groups.body.totalResults).toBe(1)
  })

  it('rejects a malformed SearchRequest with 400 and needs the token', async () => {
    const { scim } = await newIntegration()
    expect((await scim.post('/Users/.search', { schemas: [SEARCH], count: 'ten' })).body).toMatchObject({ status: '400', scimType: 'invalidValue' })
    expect((await scim.post('/Users/.search', { schemas: ['urn:wrong'] })).status).toBe(400)
    expect((await scim.post('/Users/.search', { filter: 'userName eq' })).body.scimType).toBe('invalidFilter')
    expect((await call('POST', '/scim/v2/Users/.search', { body: { schemas: [SEARCH] } })).status).toBe(401)
  })
})
