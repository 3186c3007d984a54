import { describe, expect, it } from 'vitest'
import { admin, call, ERROR_SCHEMA, newIntegration, userBody } from '../helpers/http'

/* Device assignments through the application API, and which credentials may make them. */

const api = (method: string, path: string, token: string, body?: unknown) =>
  call(method, `/api/v1${path}`, { token, body, headers: body !== undefined ? { 'content-type': 'application/json' } : {} })

async function key(scope: 'read' | 'write') {
  const res = await admin('POST', '/api-keys', { name: `devices ${scope} ${crypto.randomUUID()}`, scope })
  return res.body.token as string
}

async function twoUsers() {
  const { scim } = await newIntegration()
  const a = await scim.post('/Users', userBody(`a-${crypto.randomUUID()}@example.com`))
  const b = await scim.post('/Users', userBody(`b-${crypto.randomUUID()}@example.com`))
  return { scim, a: a.body.id as string, b: b.body.id as string }
}

describe('devices', () => {
  it('are assigned (201), re-assigned to the same user (200, name kept unless given) and read back', async () => {
    const write = await key('write')
    const { a } = await twoUsers()
    const device = `mac-${crypto.randomUUID()}`
    const first = await api('PUT', `/users/${a}/devices/${device}`, write, { name: 'MacBook Pro' })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ id: device, name: 'MacBook Pro', userId: a })
    const again = await api('PUT', `/users/${a}/devices/${device}`, write)
    expect(again.status).toBe(200)
    expect(again.body).toEqual(first.body)
    const renamed = await api('PUT', `/users/${a}/devices/${device}`, write, { name: 'Work Mac' })
    expect(renamed.body).toEqual({ ...first.body, name: 'Work Mac' })
    expect((await api('GET', `/devices/${device}`, await key('read'))).body).toEqual(renamed.body)
  })

  it('belong to one user at most: assigning elsewhere moves the device', async () => {
    const write = await key('write')
    const { a, b } = await twoUsers()
    const device = `phone-${crypto.randomUUID()}`
    const first = await api('PUT', `/users/${a}/devices/${device}`, write, { name: 'iPhone' })
    const moved = await api('PUT', `/users/${b}/devices/${device}`, write)
    expect(moved.status).toBe(201)
    expect(moved.body).toMatchObject({ id: device, name: 'iPhone', userId: b })
    expect(Date.parse(moved.body.assignedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.assignedAt))
    expect((await api('DELETE', `/users/${a}/devices/${device}`, write)).status).toBe(404)
    expect((await api('GET', `/devices/${device}`, write)).body.userId).toBe(b)
  })

  it('are unassigned with 204, after which the device is unknown', async () => {
    const write = await key('write')
    const { a } = await twoUsers()
    const device = `ipad-${crypto.randomUUID()}`
    await api('PUT', `/users/${a}/devices/${device}`, write)
    expect((await api('DELETE', `/users/${a}/devices/${device}`, write)).status).toBe(204)
    const gone = await api('GET', `/devices/${device}`, write)
    expect(gone.status).toBe(404)
    expect(gone.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' })
  })

  it('need an existing user and a sensible id and name, and write nothing otherwise', async () => {
    const write = await key('write')
    const { a } = await twoUsers()
    const device = `x-${crypto.randomUUID()}`
    const noUser = await api('PUT', `/users/${crypto.randomUUID()}/devices/${device}`, write)
    expect(noUser.status).toBe(404)
    expect(noUser.body.detail).toContain('No user')
    expect((await api('GET', `/devices/${device}`, write)).status).toBe(404)
    const badName = await api('PUT', `/users/${a}/devices/${device}`, write, { name: 42 })
    expect(badName.status).toBe(400)
    expect(badName.body.detail).toContain('name')
    const badId = await api('PUT', `/users/${a}/devices/${'d'.repeat(201)}`, write)
    expect(badId.status).toBe(400)
    expect(badId.body.detail).toContain('deviceId')
    const badJson = await call('PUT', `/api/v1/users/${a}/devices/${device}`, {
      token: write,
      raw: '{"name":',
      headers: { 'content-type': 'application/json' },
    })
    expect(badJson.status).toBe(400)
    expect((await api('GET', `/devices/${device}`, write)).status).toBe(404)
  })

  it('open by scope: a read key reads but cannot assign, a write key and the admin token can, a SCIM token cannot', async () => {
    const { a } = await twoUsers()
    const { token: scimToken } = await newIntegration()
    const device = `scoped-${crypto.randomUUID()}`
    const read = await key('read')
    const denied = await api('PUT', `/users/${a}/devices/${device}`, read)
    expect(denied.status).toBe(403)
    expect(denied.body.detail).toContain('scope "write"')
    expect((await api('DELETE', `/users/${a}/devices/${device}`, read)).status).toBe(403)
    expect((await api('GET', `/devices/${device}`, read)).status).toBe(404)
    expect((await admin('PUT', `/users/${a}/devices/${device}`, {})).status).toBe(201)
    expect((await api('GET', `/devices/${device}`, read)).status).toBe(200)
    for (const [method, path] of [
      ['GET', `/devices/${device}`],
      ['PUT', `/users/${a}/devices/${device}`],
    ] as const)
      expect((await api(method, path, scimToken)).status).toBe(401)
    expect((await api('GET', `/devices/${device}`, 'key_forged_secret')).status).toBe(401)
  })
})
