import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { GROUP_SCHEMA, newIntegration, USER_SCHEMA, type ScimClient } from '../helpers/http'

/*
 * The request sequence Okta sends (shared/reference idp-and-sources.md §B2, from Okta's SCIM 2.0
 * reference): test connection, existence check, create, GET + PUT profile updates, PATCH
 * deactivate/reactivate, Group Push with rename and membership batches, and import paging.
 */

const oktaUser = (userName: string, externalId: string) => ({
  schemas: [USER_SCHEMA],
  userName,
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId,
  groups: [],
  password: '1mz050nq',
  active: true,
})

const active = async (id: string) =>
  (await env.DB.prepare('SELECT active FROM users WHERE id = ?').bind(id).first<{ active: number }>())?.active

async function create(scim: ScimClient, userName: string) {
  const check = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`)
  expect(check.body).toMatchObject({ totalResults: 0, Resources: [] })
  const res = await scim.post('/Users', oktaUser(userName, `00u${userName.length}x`))
  expect(res.status).toBe(201)
  return res.body
}

describe('Okta replay', () => {
  it('creates, updates by PUT, deactivates and reactivates a user', async () => {
    const { scim } = await newIntegration()
    const probe = await scim.get('/Users?startIndex=1&count=2')
    expect(probe.status).toBe(200)
    expect(probe.body).toMatchObject({ totalResults: 0, itemsPerPage: 0, startIndex: 1 })

    const user = await create(scim, 'test.user@okta.local')
    expect(user).toMatchObject({ userName: 'test.user@okta.local', locale: 'en-US', externalId: '00u20x', active: true })
    expect(user.password).toBeUndefined()
    expect(user.groups).toBeUndefined()

    // Profile update: GET, then PUT of the whole object.
    const current = (await scim.get(`/Users/${user.id}`)).body
    const put = await scim.put(`/Users/${user.id}`, {
      ...current,
      name: { givenName: 'Changed', familyName: 'User' },
      displayName: 'Changed User',
      password: 'x',
    })
    expect(put.status).toBe(200)
    expect(put.body).toMatchObject({ id: user.id, name: { givenName: 'Changed' }, displayName: 'Changed User', meta: { version: 'W/"2"' } })

    const deactivate = await scim.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: false } }])
    expect(deactivate.status).toBe(200)
    expect(deactivate.body.active).toBe(false)
    expect(await active(user.id)).toBe(0)

    const reactivate = await scim.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: true } }])
    expect(reactivate.body.active).toBe(true)
    expect(await active(user.id)).toBe(1)

    // Unassign (deactivate), then re-assign: Okta POSTs the same user again; it comes back with its id.
    await scim.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: false } }])
    const reassigned = await scim.post('/Users', oktaUser('test.user@okta.local', '00u20x'))
    expect(reassigned.status).toBe(201)
    expect(reassigned.body).toMatchObject({ id: user.id, active: true })
    expect(await active(user.id)).toBe(1)

    // Duplicate create answers 409 uniqueness.
    const dup = await scim.post('/Users', oktaUser('TEST.USER@okta.local', 'other'))
    expect(dup.status).toBe(409)
    expect(dup.body.scimType).toBe('uniqueness')
  })

  it('AIW apps deactivate with PUT', async () => {
    const { scim } = await newIntegration()
    const user = await create(scim, 'aiw@okta.local')
    const put = await scim.put(`/Users/${user.id}`, { ...oktaUser('aiw@okta.local', user.externalId), active: false })
    expect(put.body.active).toBe(false)
    expect(await active(user.id)).toBe(0)
  })

  it('pushes a group: create, rename repeating the id, membership batches, full push, unlink', async () => {
    const { scim } = await newIntegration()
    const u1 = (await create(scim, 'one@okta.local')).id
    const u2 = (await create(scim, 'two@okta.local')).id
    const u3 = (await create(scim, 'three@okta.local')).id

    const group = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Test SCIMv2', members: [] })
    expect(group.status).toBe(201)
    const gid = group.body.id

    const rename = await scim.patch(`/Groups/${gid}`, [{ op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } }])
    expect(rename.status).toBe(204)
    expect((await scim.get(`/Groups/${gid}`)).body.displayName).toBe('Test SCIMv2 renamed')

    await scim.patch(`/Groups/${gid}`, [
      {
        op: 'add',
        path: 'members',
        value: [
          { value: u1, display: 'one@okta.local' },
          { value: u2, display: 'two@okta.local' },
        ],
      },
    ])
    const batch = await scim.patch(`/Groups/${gid}`, [
      { op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } },
      { op: 'remove', path: `members[value eq "${u1}"]` },
      { op: 'add', path: 'members', value: [{ value: u3, display: 'three@okta.local' }] },
    ])
    expect(batch.status).toBe(204)
    const members = (await scim.get(`/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value).sort()
    expect(members).toEqual([u2, u3].sort())

    await scim.patch(`/Groups/${gid}`, [{ op: 'replace', path: 'members', value: [{ value: u1 }] }])
    expect((await scim.get(`/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value)).toEqual([u1])

    expect((await scim.delete(`/Groups/${gid}`)).status).toBe(204)
    // Unlinking a group never deletes its users.
    expect((await scim.get(`/Users/${u1}`)).status).toBe(200)
  })

  it('imports with startIndex/count=100 paging: every user exactly once, integer paging fields', async () => {
    const { scim } = await newIntegration()
    const created = new Set<string>()
    for (let i = 0; i < 130; i++) created.add((await scim.post('/Users', oktaUser(`import${i}@okta.local`, `00u-import-${i}`))).body.id)
    const seen: string[] = []
    for (let startIndex = 1; ; startIndex += 100) {
      const page = await scim.get(`/Users?startIndex=${startIndex}&count=100`)
      expect(page.status).toBe(200)
      expect(page.body.totalResults).toBe(130)
      expect(page.body.startIndex).toBe(startIndex)
      expect(Number.isInteger(page.body.itemsPerPage)).toBe(true)
      expect(page.body.itemsPerPage).toBe(page.body.Resources.length)
      seen.push(...page.body.Resources.map((r: { id: string }) => r.id))
      if (startIndex + 100 > page.body.totalResults) break
    }
    expect(seen).toHaveLength(130)
    expect(new Set(seen)).toEqual(created)
  })
})
