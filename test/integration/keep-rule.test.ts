import { describe, expect, it } from 'vitest'
import { admin, call, GROUP_SCHEMA, newIntegration, userBody, type Reply } from '../helpers/http'

/*
 * The keep rule: a SCIM DELETE of a user that has a device archives the user instead of removing it.
 * The IdP gets its 204 and from then on sees the user gone (RFC 7644 §3.6: 404, not in lists or
 * filters, not in conflict checks); the application still sees it, archived, with its devices.
 */

const api = (method: string, path: string, token: string) => call(method, `/api/v1${path}`, { token })

async function writeKey() {
  return (await admin('POST', '/api-keys', { name: `keep ${crypto.randomUUID()}`, scope: 'write' })).body.token as string
}

const ok = (r: Reply, status: number) => {
  expect(r.status, JSON.stringify(r.body)).toBe(status)
  return r.body
}

describe('SCIM DELETE of a user', () => {
  it('with a device: 204, then gone for the IdP, archived with its data and devices for the application, out of its groups', async () => {
    const key = await writeKey()
    const { scim } = await newIntegration()
    const userName = `kept-${crypto.randomUUID()}@example.com`
    const user = ok(await scim.post('/Users', userBody(userName, { displayName: 'Kept Person', title: 'Designer' })), 201)
    const other = ok(await scim.post('/Users', userBody(`other-${crypto.randomUUID()}`)), 201)
    const group = ok(
      await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Team', members: [{ value: user.id }, { value: other.id }] }),
      201
    )
    ok(await api('PUT', `/users/${user.id}/devices/mac-${user.id}`, key), 201)

    expect((await scim.delete(`/Users/${user.id}`)).status).toBe(204)

    // The IdP's view: gone.
    expect((await scim.get(`/Users/${user.id}`)).status).toBe(404)
    expect((await scim.delete(`/Users/${user.id}`)).status).toBe(404)
    expect((await scim.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'title', value: 'x' }])).status).toBe(404)
    expect(ok(await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`), 200).totalResults).toBe(0)
    const listed = ok(await scim.get('/Users'), 200)
    expect(listed.totalResults).toBe(1)
    expect(listed.Resources.map((r: { id: string }) => r.id)).toEqual([other.id])
    expect(ok(await scim.get(`/Groups/${group.id}`), 200).members.map((m: { value: string }) => m.value)).toEqual([other.id])
    // Not a member it can add again while deleted.
    expect((await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: user.id }] }])).status).toBe(400)

    // The application's view: archived, with its data and device, in no group.
    const view = ok(await api('GET', `/users/${user.id}`, key), 200)
    expect(view).toMatchObject({ status: 'archived', userName, displayName: 'Kept Person', title: 'Designer' })
    expect(view.archivedAt).not.toBeNull()
    expect(view.devices.map((d: { id: string }) => d.id)).toEqual([`mac-${user.id}`])
    expect(ok(await api('GET', `/users/${user.id}/groups`, key), 200).data).toEqual([])
  })

  it('with a device, then created again by the IdP: the same user comes back, active, with what the IdP sent', async () => {
    const key = await writeKey()
    const { scim } = await newIntegration()
    const userName = `back-${crypto.randomUUID()}@example.com`
    const user = ok(await scim.post('/Users', userBody(userName, { title: 'Before' })), 201)
    ok(await api('PUT', `/users/${user.id}/devices/phone-${user.id}`, key), 201)
    expect((await scim.delete(`/Users/${user.id}`)).status).toBe(204)

    const again = ok(await scim.post('/Users', userBody(userName, { title: 'After' })), 201)
    expect(again.id).toBe(user.id)
    expect(again.active).toBe(true)
    expect(ok(await scim.get(`/Users/${user.id}`), 200).title).toBe('After')
    expect(ok(await scim.get('/Users'), 200).totalResults).toBe(1)
    const view = ok(await api('GET', `/users/${user.id}`, key), 200)
    expect(view).toMatchObject({ status: 'active', title: 'After', archivedAt: null })
    expect(view.devices).toHaveLength(1)
  })

  it('without a device: removed for good, for the application too', async () => {
    const key = await writeKey()
    const { scim } = await newIntegration()
    const user = ok(await scim.post('/Users', userBody(`gone-${crypto.randomUUID()}`)), 201)
    expect((await scim.delete(`/Users/${user.id}`)).status).toBe(204)
    expect((await api('GET', `/users/${user.id}`, key)).status).toBe(404)
  })

  it('already archived, with a device: hidden from the IdP, still archived for the application', async () => {
    const key = await writeKey()
    const { scim } = await newIntegration()
    const user = ok(await scim.post('/Users', userBody(`arch-${crypto.randomUUID()}`, { active: false })), 201)
    ok(await api('PUT', `/users/${user.id}/devices/tab-${user.id}`, key), 201)
    expect((await scim.delete(`/Users/${user.id}`)).status).toBe(204)
    expect((await scim.get(`/Users/${user.id}`)).status).toBe(404)
    expect(ok(await scim.get('/Users'), 200).totalResults).toBe(0)
    expect(ok(await api('GET', `/users/${user.id}`, key), 200).status).toBe('archived')
  })
})
