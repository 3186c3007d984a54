import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ENTERPRISE, GROUP_SCHEMA, newIntegration, USER_SCHEMA, type ScimClient } from '../helpers/http'

/*
 * The request sequence Microsoft Entra ID's provisioning service sends (shared/reference
 * idp-and-sources.md §B1, from Microsoft's SCIM tutorial and compatibility notes), replayed
 * step by step with the status, body and stored state checked after each.
 */

const q = (filter: string, extra = '') => `?${extra}filter=${encodeURIComponent(filter)}`

async function storedUser(id: string) {
  return env.DB.prepare('SELECT user_name, active, version FROM users WHERE id = ?')
    .bind(id)
    .first<{ user_name: string; active: number; version: number }>()
}
async function storedMembers(groupId: string) {
  const { results } = await env.DB.prepare('SELECT member_id FROM group_members WHERE group_id = ? ORDER BY member_id')
    .bind(groupId)
    .all<{ member_id: string }>()
  return results.map((r) => r.member_id)
}

async function testConnection(scim: ScimClient) {
  const users = await scim.get(`/Users${q(`userName eq "${crypto.randomUUID()}"`)}`)
  expect(users.status).toBe(200)
  expect(users.body).toEqual({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: 0,
    itemsPerPage: 0,
    startIndex: 1,
    Resources: [],
  })
  const groups = await scim.get(`/Groups${q(`displayName eq "${crypto.randomUUID()}"`, 'excludedAttributes=members&')}`)
  expect(groups.status).toBe(200)
  expect(groups.body.totalResults).toBe(0)
}

async function provisionUser(scim: ScimClient, userName: string) {
  expect((await scim.get(`/Users${q(`userName eq "${userName}"`)}`)).body.totalResults).toBe(0)
  const created = await scim.post('/Users', {
    schemas: [USER_SCHEMA, ENTERPRISE],
    externalId: crypto.randomUUID(),
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: `${userName}@testuser.com` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE]: { department: 'Engineering' },
  })
  expect(created.status).toBe(201)
  expect(created.body).toMatchObject({
    userName,
    active: true,
    name: { familyName: 'familyName' },
    [ENTERPRISE]: { department: 'Engineering' },
  })
  expect(await storedUser(created.body.id)).toMatchObject({ user_name: userName, active: 1, version: 1 })
  const found = await scim.get(`/Users${q(`userName eq "${userName}"`)}`)
  expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.body.id])
  // Entra may match on the work email instead of userName.
  const byEmail = await scim.get(`/Users${q(`emails[type eq "work"].value eq "${userName.toUpperCase()}@TESTUSER.COM"`)}`)
  expect(byEmail.body.totalResults).toBe(1)
  return created.body.id as string
}

async function provisionGroup(scim: ScimClient, displayName: string) {
  expect((await scim.get(`/Groups${q(`displayName eq "${displayName}"`, 'excludedAttributes=members&')}`)).body.totalResults).toBe(0)
  const created = await scim.post('/Groups', {
    schemas: [GROUP_SCHEMA, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
    externalId: crypto.randomUUID(),
    displayName,
    meta: { resourceType: 'Group' },
    members: [],
  })
  expect(created.status).toBe(201)
  return created.body.id as string
}

describe('Microsoft Entra ID replay, default (non-compliant) PATCH dialect', () => {
  it('provisions, updates, disables and deletes a user and a group with members', async () => {
    const { scim } = await newIntegration()
    await testConnection(scim)
    const userId = await provisionUser(scim, 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1')
    const otherId = await provisionUser(scim, 'Test_User_second')

    const update = await scim.patch(`/Users/${userId}`, [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
      { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Sales' },
    ])
    expect(update.status).toBe(200)
    expect(update.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }])
    expect(update.body.name).toMatchObject({ familyName: 'updatedFamilyName', givenName: 'givenName' })
    expect(update.body[ENTERPRISE].department).toBe('Sales')

    // Entra's default mapping sends the manager as the manager's id alone.
    const manager = await scim.patch(`/Users/${userId}`, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: otherId }])
    expect(manager.status).toBe(200)
    expect(manager.body[ENTERPRISE]).toEqual({ department: 'Sales', manager: { value: otherId } })

    const groupId = await provisionGroup(scim, 'Group1DisplayName')
    const addMembers = await scim.patch(`/Groups/${groupId}`, [
      {
        op: 'Add',
        path: 'members',
        value: [
          { $ref: null, value: userId },
          { $ref: null, value: otherId },
        ],
      },
    ])
    expect(addMembers.status).toBe(204)
    expect(await storedMembers(groupId)).toEqual([userId, otherId].sort())
    const group = await scim.get(`/Groups/${groupId}?excludedAttributes=members`)
    expect(group.body).toMatchObject({ id: groupId, displayName: 'Group1DisplayName' })
    expect(group.body.members).toBeUndefined()

    // Disabling (unassign, out of scope, soft delete) is a PATCH of active with a string boolean.
    const disable = await scim.patch(`/Users/${userId}`, [{ op: 'Replace', path: 'active', value: 'False' }])
    expect(disable.status).toBe(200)
    expect(disable.body.active).toBe(false)
    expect(await storedUser(userId)).toMatchObject({ active: 0 })
    const stillThere = await scim.get(`/Users${q(`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`)}`)
    expect(stillThere.body.Resources[0]).toMatchObject({ id: userId, active: false })

    // Entra also sends Add for active, and periodically re-asserts active=true.
    expect((await scim.patch(`/Users/${userId}`, [{ op: 'Add', path: 'active', value: 'True' }])).body.active).toBe(true)

    const removeMember = await scim.patch(`/Groups/${groupId}`, [{ op: 'Remove', path: 'members', value: [{ value: userId }] }])
    expect(removeMember.status).toBe(204)
    expect(await storedMembers(groupId)).toEqual([otherId])

    expect((await scim.delete(`/Users/${userId}`)).status).toBe(204)
    expect((await scim.get(`/Users/${userId}`)).status).toBe(404)
    expect(await storedUser(userId)).toBeNull()
    expect((await scim.delete(`/Groups/${groupId}`)).status).toBe(204)
    expect((await scim.get(`/Groups/${groupId}`)).status).toBe(404)
    expect(await storedMembers(groupId)).toEqual([])
  })
})

describe('Microsoft Entra ID replay, aadOptscim062020 (compliant) dialect', () => {
  it('provisions, updates with path-less dotted keys, disables and removes members by filter', async () => {
    const { scim } = await newIntegration()
    await testConnection(scim)
    const userId = await provisionUser(scim, 'compliant.user@contoso.com')
    const update = await scim.patch(`/Users/${userId}`, [
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'x@y.com' },
      {
        op: 'replace',
        value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' },
      },
    ])
    expect(update.status).toBe(200)
    expect(update.body).toMatchObject({
      displayName: 'Bjfe',
      name: { givenName: 'Kkom', familyName: 'Unua', formatted: 'givenName familyName' },
      emails: [{ value: 'x@y.com', type: 'work', primary: true }],
      [ENTERPRISE]: { department: 'Engineering', employeeNumber: 'Aklq' },
    })
    expect(update.body['name.givenName']).toBeUndefined()

    const managerId = await provisionUser(scim, 'compliant.manager@contoso.com')
    const manager = await scim.patch(`/Users/${userId}`, [{ op: 'replace', path: `${ENTERPRISE}:manager`, value: managerId }])
    expect(manager.status).toBe(200)
    expect(manager.body[ENTERPRISE].manager).toEqual({ value: managerId })

    const groupId = await provisionGroup(scim, 'Compliant Group')
    expect((await scim.patch(`/Groups/${groupId}`, [{ op: 'add', path: 'members', value: [{ value: userId }] }])).status).toBe(204)
    expect((await scim.get(`/Users/${userId}`)).body.groups.map((g: { value: string }) => g.value)).toEqual([groupId])

    const disable = await scim.patch(`/Users/${userId}`, [{ op: 'replace', path: 'active', value: false }])
    expect(disable.body.active).toBe(false)

    const remove = await scim.patch(`/Groups/${groupId}`, [{ op: 'remove', path: `members[value eq "${userId}"]` }])
    expect(remove.status).toBe(204)
    expect(await storedMembers(groupId)).toEqual([])

    // An empty Operations array is a valid no-op.
    const noop = await scim.patch(`/Users/${userId}`, [])
    expect(noop.status).toBe(200)
    expect(noop.headers.get('x-d1-rows-written')).toBe('0')
  })
})
