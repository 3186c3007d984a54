import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { ERROR_SCHEMA, GROUP_SCHEMA, newIntegration, ORIGIN, userBody, type ScimClient } from '../helpers/http'

let scim: ScimClient
let alice: string
let bob: string
beforeEach(async () => {
  ;({ scim } = await newIntegration())
  alice = (await scim.post('/Users', userBody('alice@example.com', { displayName: 'Alice' }))).body.id
  bob = (await scim.post('/Users', userBody('bob@example.com'))).body.id
})

const memberIds = async (groupId: string) =>
  ((await scim.get(`/Groups/${groupId}`)).body.members ?? []).map((m: { value: string }) => m.value).sort()
const groupsOf = async (userId: string) => ((await scim.get(`/Users/${userId}`)).body.groups ?? []).map((g: { value: string }) => g.value)

describe('Groups', () => {
  it('creates a group with members and shows them with display names and refs', async () => {
    const res = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Engineering',
      externalId: 'g-ext',
      members: [{ value: alice }, { value: bob, type: 'User' }],
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      schemas: [GROUP_SCHEMA],
      displayName: 'Engineering',
      externalId: 'g-ext',
      meta: { resourceType: 'Group', version: 'W/"1"' },
    })
    expect(res.headers.get('location')).toBe(`${ORIGIN}/scim/v2/Groups/${res.body.id}`)
    const got = await scim.get(`/Groups/${res.body.id}`)
    expect(got.body.members).toEqual(
      expect.arrayContaining([
        { value: alice, $ref: `${ORIGIN}/scim/v2/Users/${alice}`, display: 'Alice', type: 'User' },
        { value: bob, $ref: `${ORIGIN}/scim/v2/Users/${bob}`, display: 'bob@example.com', type: 'User' },
      ])
    )
    expect(await groupsOf(alice)).toEqual([res.body.id])
    const user = await scim.get(`/Users/${alice}`)
    expect(user.body.groups).toEqual([
      { value: res.body.id, $ref: `${ORIGIN}/scim/v2/Groups/${res.body.id}`, display: 'Engineering', type: 'direct' },
    ])
  })

  it("accepts Entra's create with an extra schema URN and empty members", async () => {
    const res = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Group1DisplayName',
      members: [],
    })
    expect(res.status).toBe(201)
  })

  it('refuses a duplicate displayName (case-insensitive) and unknown members', async () => {
    await scim.post('/Groups', { displayName: 'Sales' })
    const dup = await scim.post('/Groups', { displayName: 'SALES' })
    expect(dup.status).toBe(409)
    expect(dup.body.scimType).toBe('uniqueness')
    const unknown = await scim.post('/Groups', { displayName: 'Ghosts', members: [{ value: 'no-such-user' }] })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidValue' })
    expect(unknown.body.detail).toContain('no-such-user')
    expect((await scim.get('/Groups?filter=displayName eq "Ghosts"')).body.totalResults).toBe(0)
  })

  it("adds and removes members with PATCH in every form IdPs send, keeping users' groups in step", async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Team' })
    const add = await scim.patch(`/Groups/${g.id}`, [{ op: 'Add', path: 'members', value: [{ $ref: null, value: alice }, { value: bob }] }])
    expect(add.status).toBe(204)
    expect(add.headers.get('etag')).toBe('W/"2"')
    expect(await memberIds(g.id)).toEqual([alice, bob].sort())
    expect(await groupsOf(bob)).toEqual([g.id])

    await scim.patch(`/Groups/${g.id}`, [{ op: 'Remove', path: 'members', value: [{ value: alice }] }])
    expect(await memberIds(g.id)).toEqual([bob])
    expect(await groupsOf(alice)).toEqual([])

    await scim.patch(`/Groups/${g.id}`, [{ op: 'remove', path: `members[value eq "${bob}"]` }])
    expect(await memberIds(g.id)).toEqual([])

    await scim.patch(`/Groups/${g.id}`, [{ op: 'add', value: { members: [{ value: alice }] } }])
    await scim.patch(`/Groups/${g.id}`, [{ op: 'replace', path: 'members', value: [{ value: bob }] }])
    expect(await memberIds(g.id)).toEqual([bob])
  })

  it('adding an existing member again is harmless', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Twice', members: [{ value: alice }] })
    expect((await scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: alice }] }])).status).toBe(204)
    expect(await memberIds(g.id)).toEqual([alice])
  })

  it('nests groups', async () => {
    const { body: inner } = await scim.post('/Groups', { displayName: 'Inner' })
    const { body: outer } = await scim.post('/Groups', { displayName: 'Outer', members: [{ value: inner.id }] })
    const got = await scim.get(`/Groups/${outer.id}`)
    expect(got.body.members).toEqual([{ value: inner.id, $ref: `${ORIGIN}/scim/v2/Groups/${inner.id}`, display: 'Inner', type: 'Group' }])
    expect((await scim.patch(`/Groups/${outer.id}`, [{ op: 'add', path: 'members', value: [{ value: outer.id }] }])).status).toBe(400)
  })

  it('one add of a user and a group gives each its own type', async () => {
    const { body: inner } = await scim.post('/Groups', { displayName: 'Inner mixed' })
    const { body: outer } = await scim.post('/Groups', { displayName: 'Outer mixed' })
    const add = await scim.patch(`/Groups/${outer.id}`, [{ op: 'add', path: 'members', value: [{ value: alice }, { value: inner.id }] }])
    expect(add.status).toBe(204)
    const { body } = await scim.get(`/Groups/${outer.id}`)
    expect(body.members.map((m: { value: string; type: string }) => [m.value, m.type]).sort()).toEqual(
      [
        [alice, 'User'],
        [inner.id, 'Group'],
      ].sort()
    )
  })

  it("renames with Okta's path-less replace that repeats the id, returning the group when asked", async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Old name' })
    const res = await scim.patch(`/Groups/${g.id}?excludedAttributes=members`, [
      { op: 'replace', value: { id: g.id, displayName: 'New name' } },
    ])
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: g.id, displayName: 'New name', meta: { version: 'W/"2"' } })
    expect(res.body.members).toBeUndefined()
  })

  it('rejects a member change that names an unknown user and changes nothing', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Strict', members: [{ value: alice }] })
    const res = await scim.patch(`/Groups/${g.id}`, [
      { op: 'remove', path: 'members', value: [{ value: alice }] },
      { op: 'add', path: 'members', value: [{ value: 'ghost' }] },
    ])
    expect(res.status).toBe(400)
    expect(await memberIds(g.id)).toEqual([alice])
  })

  it('reads a group without members in O(1) with excludedAttributes=members', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Big', members: [{ value: alice }, { value: bob }] })
    const res = await scim.get(`/Groups/${g.id}?excludedAttributes=members`)
    expect(res.body.members).toBeUndefined()
    expect(res.body.displayName).toBe('Big')
    expect(Number(res.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(2)
    const list = await scim.get('/Groups?excludedAttributes=members&filter=displayName eq "big"')
    expect(list.body.totalResults).toBe(1)
    expect(list.body.Resources[0].members).toBeUndefined()
  })

  it('replaces a group with PUT; leaving out members keeps them', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'P', members: [{ value: alice }] })
    const renamed = await scim.put(`/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: 'P2' })
    expect(renamed.status).toBe(200)
    expect(renamed.body.members.map((m: { value: string }) => m.value)).toEqual([alice])
    const replaced = await scim.put(`/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: 'P2', members: [{ value: bob }] })
    expect(replaced.body.members.map((m: { value: string }) => m.value)).toEqual([bob])
  })

  it('deleting a user or a group removes its memberships', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'D', members: [{ value: alice }, { value: bob }] })
    await scim.delete(`/Users/${alice}`)
    expect(await memberIds(g.id)).toEqual([bob])
    expect((await scim.delete(`/Groups/${g.id}`)).status).toBe(204)
    expect(await groupsOf(bob)).toEqual([])
    expect((await scim.get(`/Groups/${g.id}`)).status).toBe(404)
    const left = await env.DB.prepare('SELECT count(*) AS n FROM group_members WHERE group_id = ?').bind(g.id).first<{ n: number }>()
    expect(left?.n).toBe(0)
  })

  it('lists and filters groups', async () => {
    await scim.post('/Groups', { displayName: 'Alpha', externalId: 'a1' })
    await scim.post('/Groups', { displayName: 'Beta', externalId: 'b1', members: [{ value: alice }] })
    const all = await scim.get('/Groups')
    expect(all.body).toMatchObject({ totalResults: 2, itemsPerPage: 2, startIndex: 1 })
    const byName = await scim.get('/Groups?filter=displayName eq "beta"')
    expect(byName.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['Beta'])
    expect(byName.body.Resources[0].members).toHaveLength(1)
    expect((await scim.get('/Groups?filter=externalId eq "a1"')).body.totalResults).toBe(1)
    expect((await scim.get(`/Groups?filter=members.value eq "${alice}"`)).body.totalResults).toBe(1)
  })
})

describe('Groups under concurrent membership changes', () => {
  it('applies every member add when several PATCHes hit one group at once', async () => {
    const users: string[] = []
    for (let i = 0; i < 8; i++) users.push((await scim.post('/Users', userBody(`c${i}@example.com`))).body.id)
    const { body: g } = await scim.post('/Groups', { displayName: 'Concurrent' })
    const results = await Promise.all(
      users.map((id) => scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: id }] }]))
    )
    expect(results.map((r) => r.status)).toEqual(users.map(() => 204))
    expect(await memberIds(g.id)).toEqual([...users].sort())
  })
})
