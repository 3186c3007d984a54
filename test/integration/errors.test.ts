import { describe, expect, it } from 'vitest'
import { call, ERROR_SCHEMA, newIntegration, userBody } from '../helpers/http'

const scimErrorShape = (status: number, scimType?: string) => ({
  schemas: [ERROR_SCHEMA],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail: expect.any(String),
})

describe('every failure is an RFC 7644 error', () => {
  it('401 without a token, with a wrong one, or with a malformed header; WWW-Authenticate says Bearer', async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer scim_nope_nope' },
      { authorization: 'Basic dXNlcjpwdw==' },
      { authorization: 'Bearer' },
    ]) {
      const res = await call('GET', '/scim/v2/Users', { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/scim+json')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect(res.body).toEqual(scimErrorShape(401))
    }
  })

  it('400 invalidSyntax for malformed JSON, an empty body, or a non-object', async () => {
    const { token } = await newIntegration()
    for (const raw of ['{"userName": ', '', '[1,2]', 'null']) {
      const res = await call('POST', '/scim/v2/Users', { token, raw, headers: { 'content-type': 'application/scim+json' } })
      expect(res.status, raw).toBe(400)
      expect(res.body).toEqual(scimErrorShape(400, 'invalidSyntax'))
    }
  })

  it('415 for a body that is not JSON', async () => {
    const { token } = await newIntegration()
    const res = await call('POST', '/scim/v2/Users', {
      token,
      raw: 'userName=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(res.status).toBe(415)
    expect(res.body).toEqual(scimErrorShape(415))
  })

  it('accepts application/json as well as application/scim+json (with a charset)', async () => {
    const { token } = await newIntegration()
    const res = await call('POST', '/scim/v2/Users', {
      token,
      body: userBody('json@example.com'),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/scim+json')
  })

  it('413 above the body limit, whether declared or streamed, and nothing is written', async () => {
    const { token, scim } = await newIntegration()
    const big = JSON.stringify(userBody('big@example.com', { title: 'x'.repeat(1024 * 1024) }))
    const declared = await call('POST', '/scim/v2/Users', { token, raw: big, headers: { 'content-type': 'application/scim+json' } })
    expect(declared.status).toBe(413)
    expect(declared.body).toEqual(scimErrorShape(413))
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const streamed = await call('POST', '/scim/v2/Users', { token, raw: stream, headers: { 'content-type': 'application/scim+json' } })
    expect(streamed.status).toBe(413)
    expect((await scim.get('/Users')).body.totalResults).toBe(0)
  })

  it('404 for unknown SCIM routes and unknown resources, 404 at the root for anything else', async () => {
    const { scim } = await newIntegration()
    for (const path of ['/Widgets', '/Users/x/y']) {
      const res = await scim.get(path)
      expect(res.status, path).toBe(404)
      expect(res.body).toEqual(scimErrorShape(404))
    }
    const root = await call('GET', '/nowhere')
    expect(root.status).toBe(404)
    expect(root.body).toEqual(scimErrorShape(404))
  })

  it('400 invalidValue for a schema extension this server does not support, with its URN in the detail', async () => {
    const { scim } = await newIntegration()
    const res = await scim.post(
      '/Users',
      userBody('x@example.com', { 'urn:acme:params:scim:schemas:extension:shoes:1.0:User': { size: '9' } })
    )
    expect(res.status).toBe(400)
    expect(res.body).toEqual(scimErrorShape(400, 'invalidValue'))
    expect(res.body.detail).toContain('urn:acme:params:scim:schemas:extension:shoes:1.0:User')
  })

  it('400 invalidSyntax for a PATCH that is not a PatchOp', async () => {
    const { token, scim } = await newIntegration()
    const { body: u } = await scim.post('/Users', userBody('p@example.com'))
    const res = await call('PATCH', `/scim/v2/Users/${u.id}`, { token, body: { Operations: 'nope' } })
    expect(res.status).toBe(400)
    expect(res.body).toEqual(scimErrorShape(400, 'invalidSyntax'))
  })

  it('tolerates a trailing slash on collection paths', async () => {
    const { scim } = await newIntegration()
    const res = await scim.get('/Users/?filter=userName eq "none"')
    expect(res.status).toBe(200)
    expect(res.body.totalResults).toBe(0)
  })
})

describe('discovery', () => {
  it('serves ServiceProviderConfig, Schemas and ResourceTypes from the registry without a token', async () => {
    const spc = await call('GET', '/scim/v2/ServiceProviderConfig')
    expect(spc.status).toBe(200)
    expect(spc.body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true, maxResults: 1000 },
      bulk: { supported: true },
      etag: { supported: true },
      sort: { supported: true },
    })
    expect(spc.body.bulk.maxPayloadSize).toBe(1048576)
    const schemas = await call('GET', '/scim/v2/Schemas')
    expect(schemas.body.Resources.map((s: { id: string }) => s.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ])
    const user = await call('GET', '/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')
    const userName = user.body.attributes.find((a: { name: string }) => a.name === 'userName')
    expect(userName).toMatchObject({
      type: 'string',
      required: true,
      caseExact: false,
      uniqueness: 'server',
      mutability: 'readWrite',
      returned: 'default',
    })
    expect(user.body.attributes.find((a: { name: string }) => a.name === 'password')).toMatchObject({
      mutability: 'writeOnly',
      returned: 'never',
    })
    const types = await call('GET', '/scim/v2/ResourceTypes')
    expect(types.body.Resources).toEqual([
      expect.objectContaining({
        id: 'User',
        endpoint: '/Users',
        schemaExtensions: [{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }],
      }),
      expect.objectContaining({ id: 'Group', endpoint: '/Groups', schemaExtensions: [] }),
    ])
    expect((await call('GET', '/scim/v2/ResourceTypes/Group')).body.schema).toBe('urn:ietf:params:scim:schemas:core:2.0:Group')
    expect((await call('GET', '/scim/v2/Schemas/urn:nope')).status).toBe(404)
  })
})
