import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, admin, call, ERROR_SCHEMA, newIntegration, ORIGIN, scimClient, userBody } from '../helpers/http'

async function sha256Hex(text: string) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

describe('admin API', () => {
  it('creates a SCIM integration and shows its token exactly once', async () => {
    const res = await admin('POST', '/integrations', { kind: 'scim', name: 'Okta production' })
    expect(res.status).toBe(201)
    expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'id', 'kind', 'name', 'scimUrl', 'status', 'token'])
    expect(res.body).toMatchObject({ kind: 'scim', name: 'Okta production', scimUrl: `${ORIGIN}/scim/v2` })
    expect(res.body.token).toMatch(/^scim_[\w-]+_[\w-]{43}$/)

    const details = await admin('GET', `/integrations/${res.body.id}`)
    expect(details.status).toBe(200)
    expect(JSON.stringify(details.body)).not.toContain(res.body.token)
    expect(details.body).toMatchObject({
      id: res.body.id,
      scimUrl: `${ORIGIN}/scim/v2`,
      lastActivityAt: null,
      counts: { activeUsers: 0, archivedUsers: 0, groups: 0 },
    })

    const list = await admin('GET', '/integrations')
    expect(list.body.integrations.map((i: { id: string }) => i.id)).toContain(res.body.id)
    expect(JSON.stringify(list.body)).not.toContain(res.body.token)
  })

  it('keeps only the SHA-256 of the token in KV, never the token', async () => {
    const res = await admin('POST', '/integrations', { kind: 'scim', name: 'KV check' })
    const token = res.body.token as string
    const keys = (await env.TOKENS.list()).keys.map((k) => k.name)
    expect(keys).toContain(`token:${await sha256Hex(token)}`)
    expect(keys.some((k) => k.includes(token))).toBe(false)
    const value = await env.TOKENS.get(`token:${await sha256Hex(token)}`)
    expect(value).not.toContain(token.slice(5))
    const row = await env.DB.prepare('SELECT * FROM integrations WHERE id = ?').bind(res.body.id).first()
    expect(JSON.stringify(row)).not.toContain(token)
  })

  it('refuses a second integration with the same name, whatever its case', async () => {
    expect((await admin('POST', '/integrations', { kind: 'scim', name: 'Entra Prod' })).status).toBe(201)
    const dup = await admin('POST', '/integrations', { kind: 'scim', name: 'entra prod' })
    expect(dup.status).toBe(409)
    expect(dup.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '409', scimType: 'uniqueness' })
  })

  it.each([
    [{ kind: 'scim' }, 'name'],
    [{ kind: 'scim', name: '   ' }, 'name'],
    [{ kind: 'ldap', name: 'x' }, 'kind'],
    [{ name: 'x' }, 'kind'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const res = await admin('POST', '/integrations', body)
    expect(res.status).toBe(400)
    expect(res.body.detail).toMatch(new RegExp(`^${field}:`))
  })

  it('answers 400 for a body that is not JSON', async () => {
    const res = await call('POST', '/api/v1/integrations', {
      token: ADMIN_TOKEN,
      raw: '{nope',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect(res.body.scimType).toBe('invalidSyntax')
  })

  it('needs the admin token, and an integration token is not one', async () => {
    const { token } = await newIntegration()
    for (const auth of [undefined, 'wrong', token]) {
      const res = await call('GET', '/api/v1/integrations', { token: auth })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
  })

  it('answers 404 for an unknown integration', async () => {
    expect((await admin('GET', '/integrations/nope')).status).toBe(404)
    expect((await admin('POST', '/integrations/nope/token')).status).toBe(404)
    expect((await admin('DELETE', '/integrations/nope')).status).toBe(404)
  })

  it('rotates the token: the old one fails at once, the new one works', async () => {
    const { id, token, scim } = await newIntegration()
    expect((await scim.post('/Users', userBody('rot@example.com'))).status).toBe(201)
    const rotated = await admin('POST', `/integrations/${id}/token`)
    expect(rotated.status).toBe(200)
    expect(rotated.body.token).not.toBe(token)
    const old = await scim.get('/Users')
    expect(old.status).toBe(401)
    expect(old.body.schemas).toEqual([ERROR_SCHEMA])
    const fresh = await scimClient(rotated.body.token).get('/Users')
    expect(fresh.status).toBe(200)
    expect(fresh.body.totalResults).toBe(1)
  })

  it('rejects a rotated token even while KV still maps it (D1 is the authority)', async () => {
    const { id, token, scim } = await newIntegration()
    const staleEntry = await env.TOKENS.get(`token:${await sha256Hex(token)}`)
    await admin('POST', `/integrations/${id}/token`)
    // Simulate a location whose KV has not seen the rotation yet.
    await env.TOKENS.put(`token:${await sha256Hex(token)}`, staleEntry!)
    expect((await scim.get('/Users')).status).toBe(401)
    expect((await scim.post('/Users', userBody('late@example.com'))).status).toBe(401)
  })

  it('accepts a new token before KV has it (falls back to D1)', async () => {
    const { token, scim } = await newIntegration()
    await env.TOKENS.delete(`token:${await sha256Hex(token)}`)
    expect((await scim.get('/Users')).status).toBe(200)
  })

  it('deletes an integration: its token stops working and its users and groups are gone', async () => {
    const { id, scim } = await newIntegration()
    const u = await scim.post('/Users', userBody('gone@example.com'))
    await scim.post('/Groups', { displayName: 'Gone', members: [{ value: u.body.id }] })
    const deleted = await admin('DELETE', `/integrations/${id}`)
    expect(deleted.status).toBe(200)
    expect(deleted.body).toEqual({ id, status: 'deleted', removedUsers: 1, keptUsers: 0, removedGroups: 1 })
    expect((await scim.get('/Users')).status).toBe(401)
    expect((await admin('GET', `/integrations/${id}`)).status).toBe(404)
    for (const table of ['users', 'groups', 'user_emails']) {
      const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE integration_id = ?`).bind(id).first<{ n: number }>()
      expect(row?.n, table).toBe(0)
    }
    const members = await env.DB.prepare('SELECT count(*) AS n FROM group_members WHERE member_id = ?')
      .bind(u.body.id)
      .first<{ n: number }>()
    expect(members?.n).toBe(0)
  })

  it('counts active and archived users and groups, and records SCIM activity', async () => {
    const { id, scim } = await newIntegration()
    const a = await scim.post('/Users', userBody('a@example.com'))
    await scim.post('/Users', userBody('b@example.com'))
    await scim.post('/Users', userBody('c@example.com', { active: false }))
    await scim.patch(`/Users/${a.body.id}`, [{ op: 'replace', path: 'active', value: false }])
    await scim.post('/Groups', { displayName: 'G1' })
    const details = await admin('GET', `/integrations/${id}`)
    expect(details.body.counts).toEqual({ activeUsers: 1, archivedUsers: 2, groups: 1 })
    // lastActivityAt is written after the response (waitUntil): give that write a moment.
    let lastActivityAt = details.body.lastActivityAt
    for (let i = 0; i < 40 && !lastActivityAt; i++) {
      await new Promise((r) => setTimeout(r, 25))
      lastActivityAt = (await admin('GET', `/integrations/${id}`)).body.lastActivityAt
    }
    expect(Date.parse(lastActivityAt)).toBeGreaterThan(Date.now() - 60_000)
  })
})
