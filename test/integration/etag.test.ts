import { beforeEach, describe, expect, it } from 'vitest'
import { call, ERROR_SCHEMA, newIntegration, userBody, type ScimClient } from '../helpers/http'

let scim: ScimClient
let token: string
beforeEach(async () => {
  ;({ scim, token } = await newIntegration())
})

const withHeaders = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
  call(method, `/scim/v2${path}`, { token, headers, body })
const PATCH_BODY = (title: string) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [{ op: 'replace', path: 'title', value: title }],
})

describe('ETags (RFC 7644 §3.14)', () => {
  it('answers 304 to If-None-Match with the current version, 200 otherwise', async () => {
    const { body: u, headers } = await scim.post('/Users', userBody('etag@example.com'))
    const etag = headers.get('etag')!
    const same = await withHeaders('GET', `/Users/${u.id}`, { 'if-none-match': etag })
    expect(same.status).toBe(304)
    expect(same.headers.get('etag')).toBe(etag)
    expect(same.body).toBeUndefined()
    expect((await withHeaders('GET', `/Users/${u.id}`, { 'if-none-match': 'W/"99"' })).status).toBe(200)
  })

  it('applies PUT, PATCH and DELETE only when If-Match names the current version', async () => {
    const { body: u } = await scim.post('/Users', userBody('match@example.com', { title: 'v1' }))
    const ok = await withHeaders('PATCH', `/Users/${u.id}`, { 'if-match': 'W/"1"' }, PATCH_BODY('v2'))
    expect(ok.status).toBe(200)
    expect(ok.headers.get('etag')).toBe('W/"2"')

    const stale = await withHeaders('PATCH', `/Users/${u.id}`, { 'if-match': 'W/"1"' }, PATCH_BODY('lost'))
    expect(stale.status).toBe(412)
    expect(stale.body).toEqual({ schemas: [ERROR_SCHEMA], status: '412', detail: expect.stringContaining('W/"2"') })
    expect((await withHeaders('PUT', `/Users/${u.id}`, { 'if-match': '"1"' }, userBody('match@example.com'))).status).toBe(412)
    expect((await withHeaders('DELETE', `/Users/${u.id}`, { 'if-match': 'W/"1"' })).status).toBe(412)
    expect((await scim.get(`/Users/${u.id}`)).body.title).toBe('v2')

    // A list that names the current version, or *, matches.
    expect(
      (await withHeaders('PUT', `/Users/${u.id}`, { 'if-match': 'W/"7", W/"2"' }, userBody('match@example.com', { title: 'v3' }))).status
    ).toBe(200)
    expect((await withHeaders('DELETE', `/Users/${u.id}`, { 'if-match': '*' })).status).toBe(204)
  })

  it('guards groups the same way', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Tagged' })
    expect((await withHeaders('GET', `/Groups/${g.id}`, { 'if-none-match': 'W/"1"' })).status).toBe(304)
    const rename = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'displayName', value: 'Renamed' }],
    }
    expect((await withHeaders('PATCH', `/Groups/${g.id}`, { 'if-match': 'W/"2"' }, rename)).status).toBe(412)
    expect((await withHeaders('PATCH', `/Groups/${g.id}`, { 'if-match': 'W/"1"' }, rename)).status).toBe(204)
    expect((await withHeaders('PUT', `/Groups/${g.id}`, { 'if-match': 'W/"1"' }, { displayName: 'Again' })).status).toBe(412)
    expect((await withHeaders('DELETE', `/Groups/${g.id}`, { 'if-match': 'W/"1"' })).status).toBe(412)
    expect((await withHeaders('DELETE', `/Groups/${g.id}`, { 'if-match': 'W/"2"' })).status).toBe(204)
  })
})
