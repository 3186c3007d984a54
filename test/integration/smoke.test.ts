import { exports } from 'cloudflare:workers'
import { expect, it } from 'vitest'

it('serves discovery', async () => {
  const res = await exports.default.fetch('http://example.com/scim/v2/ServiceProviderConfig')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/scim+json')
})

it('creates an integration and a user', async () => {
  const res = await exports.default.fetch('http://example.com/api/v1/integrations', {
    method: 'POST',
    headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'scim', name: 'x' }),
  })
  const body = (await res.json()) as { token: string }
  expect(res.status, JSON.stringify(body)).toBe(201)
  const u = await exports.default.fetch('http://example.com/scim/v2/Users', {
    method: 'POST',
    headers: { authorization: `Bearer ${body.token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a@b.c', emails: [{ value: 'a@b.c', type: 'work', primary: true }] }),
  })
  const ub = await u.json()
  expect(u.status, JSON.stringify(ub)).toBe(201)
})
