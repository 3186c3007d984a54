import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, call, ERROR_SCHEMA, newIntegration, userBody } from '../helpers/http'

/* Application API keys: created and revoked by the admin, stored only as hashes, and each credential opens only its own surface. */

const withKey = (method: string, path: string, key: string, body?: unknown) =>
  call(method, `/api/v1${path}`, { token: key, body, headers: body !== undefined ? { 'content-type': 'application/json' } : {} })

const sha256Hex = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')

async function newKey(scope: 'read' | 'write', name = `app ${scope} ${crypto.randomUUID()}`) {
  const res = await admin('POST', '/api-keys', { name, scope })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body as { id: string; name: string; scope: string; token: string; createdAt: string }
}

describe('API keys', () => {
  it('are shown once at creation, then listed without the key and stored only as hashes', async () => {
    const key = await newKey('read', 'Kandji console')
    expect(key).toMatchObject({ name: 'Kandji console', scope: 'read' })
    expect(key.token).toMatch(/^key_/)
    expect(Date.parse(key.createdAt)).not.toBeNaN()

    const listed = await admin('GET', '/api-keys')
    const entry = listed.body.apiKeys.find((k: { id: string }) => k.id === key.id)
    expect(entry).toEqual({ id: key.id, name: 'Kandji console', scope: 'read', createdAt: key.createdAt, lastUsedAt: null })
    expect(JSON.stringify(listed.body)).not.toContain(key.token)

    // Neither D1 nor KV holds the key itself; both hold its hash.
    const hash = await sha256Hex(key.token)
    const row = await env.DB.prepare('SELECT * FROM api_keys WHERE id = ?').bind(key.id).first<Record<string, unknown>>()
    expect(row!.token_hash).toBe(hash)
    expect(JSON.stringify(row)).not.toContain(key.token)
    expect(await env.TOKENS.get(`apikey:${hash}`, 'json')).toEqual({ keyId: key.id })
  })

  it('refuse a bad name or scope with a 400 naming the field', async () => {
    for (const [body, field] of [
      [{ name: 'x', scope: 'admin' }, 'scope'],
      [{ scope: 'read' }, 'name'],
    ] as const) {
      const res = await admin('POST', '/api-keys', body)
      expect(res.status).toBe(400)
      expect(res.body.schemas).toEqual([ERROR_SCHEMA])
      expect(res.body.detail).toContain(field)
    }
  })

  it('open no admin surface: integrations, tokens, keys and webhooks answer 403 saying the admin token is needed', async () => {
    const { id } = await newIntegration()
    for (const scope of ['read', 'write'] as const) {
      const key = await newKey(scope)
      for (const [method, path, body] of [
        ['GET', '/integrations', undefined],
        ['POST', '/integrations', { kind: 'scim', name: `by key ${crypto.randomUUID()}` }],
        ['POST', `/integrations/${id}/token`, undefined],
        ['DELETE', `/integrations/${id}`, undefined],
        ['GET', '/api-keys', undefined],
        ['POST', '/api-keys', { name: 'escalate', scope: 'write' }],
        ['DELETE', `/api-keys/${key.id}`, undefined],
        ['POST', '/webhooks', { url: 'https://example.com/hook', events: ['user.*'] }],
      ] as const) {
        const res = await withKey(method, path, key.token, body)
        expect(res.status, `${scope} ${method} ${path}`).toBe(403)
        expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '403' })
        expect(res.body.detail).toContain('admin token')
      }
    }
    // Nothing was done on their behalf.
    expect((await admin('GET', `/integrations/${id}`)).status).toBe(200)
  })

  it('record when they were last used', async () => {
    const key = await newKey('read')
    await withKey('GET', '/integrations', key.token)
    // The write happens off the request path; wait for it.
    for (let i = 0; i < 50; i++) {
      const row = await env.DB.prepare('SELECT last_used_at FROM api_keys WHERE id = ?')
        .bind(key.id)
        .first<{ last_used_at: string | null }>()
      if (row!.last_used_at) return expect(Date.parse(row!.last_used_at)).not.toBeNaN()
      await new Promise((r) => setTimeout(r, 20))
    }
    throw new Error('lastUsedAt was never written')
  })

  it('cost a read its key check and its page, not a lastUsedAt write each time', async () => {
    const key = await newKey('read')
    for (let i = 0; i < 3; i++) {
      const res = await withKey('GET', '/users?limit=1', key.token)
      expect(res.status).toBe(200)
      expect(Number(res.headers.get('x-d1-round-trips'))).toBe(1)
    }
  })

  it('are dead at once when revoked, although KV might still hold their hash', async () => {
    const key = await newKey('read')
    const hash = await sha256Hex(key.token)
    expect((await withKey('GET', '/integrations', key.token)).status).toBe(403)
    expect((await admin('DELETE', `/api-keys/${key.id}`)).status).toBe(204)
    // Put the KV entry back, as a location KV has not yet reached would still see it.
    await env.TOKENS.put(`apikey:${hash}`, JSON.stringify({ keyId: key.id }))
    const res = await withKey('GET', '/integrations', key.token)
    expect(res.status).toBe(401)
    expect(res.body.detail).toContain('revoked')
    expect((await admin('DELETE', `/api-keys/${key.id}`)).status).toBe(404)
  })

  it('work from D1 before KV has them', async () => {
    const key = await newKey('write')
    await env.TOKENS.delete(`apikey:${await sha256Hex(key.token)}`)
    expect((await withKey('GET', '/integrations', key.token)).status).toBe(403)
  })

  it('refuse unknown keys with 401', async () => {
    const res = await withKey('GET', '/integrations', 'key_nope_nope')
    expect(res.status).toBe(401)
    expect(res.body.schemas).toEqual([ERROR_SCHEMA])
  })
})

describe('each credential opens only its own surface', () => {
  it('a SCIM token is refused on /api/v1 with 401', async () => {
    const { token } = await newIntegration()
    const res = await withKey('GET', '/integrations', token)
    expect(res.status).toBe(401)
    expect(res.body.detail).toContain('/scim/v2')
  })

  it('an API key is refused on /scim/v2 with 401', async () => {
    const key = await newKey('write')
    const get = await call('GET', '/scim/v2/Users', { token: key.token })
    expect(get.status).toBe(401)
    const post = await call('POST', '/scim/v2/Users', { token: key.token, body: userBody('intruder@example.com') })
    expect(post.status).toBe(401)
    expect(post.body.schemas).toEqual([ERROR_SCHEMA])
  })
})
