import { expect } from 'vitest'
import { admin, scimClient, type Json } from './http'
import { fakeGraph } from './sync'

/* An Entra integration connected to a fresh tenant of the fake Graph, and a small directory in it. */

let n = 0
export async function connectTenant(options: { secret?: string; pageSize?: number } = {}) {
  const tenant = `tenant-${Date.now()}-${++n}`
  await fakeGraph(tenant, {
    action: 'settings',
    clientId: 'app-id',
    clientSecret: 'app-secret',
    pageSize: options.pageSize ?? 2,
    membersPerPage: 20,
  })
  const res = await admin('POST', '/integrations', {
    kind: 'entra',
    name: `Entra ${tenant}`,
    tenantId: tenant,
    clientId: 'app-id',
    clientSecret: options.secret ?? 'app-secret',
  })
  expect(res.status).toBe(201)
  return { tenant, id: res.body.id as string, scim: scimClient(res.body.token) }
}

export const seedDirectory = (tenant: string) =>
  Promise.all([
    fakeGraph(tenant, {
      action: 'upsertUsers',
      users: [
        {
          id: 'u1',
          userPrincipalName: 'ada@contoso.com',
          givenName: 'Ada',
          surname: 'Lovelace',
          mail: 'ada@contoso.com',
          jobTitle: 'Engineer',
          department: 'R&D',
        },
        { id: 'u2', userPrincipalName: 'bob@contoso.com', displayName: 'Bob' },
        { id: 'u3', userPrincipalName: 'cy@contoso.com', displayName: 'Cy', accountEnabled: false },
        { id: 'u4', userPrincipalName: 'dee@contoso.com', displayName: 'Dee' },
        { id: 'u5', userPrincipalName: 'eve@contoso.com', displayName: 'Eve' },
      ],
    }),
  ]).then(() =>
    fakeGraph(tenant, {
      action: 'upsertGroups',
      groups: [
        { id: 'g-all', displayName: 'Everyone', members: ['u1', 'u2', 'u3', 'u4', 'u5', 'g-eng'] },
        { id: 'g-eng', displayName: 'Engineering', members: ['u1', 'u2'] },
        { id: 'g-empty', displayName: 'Empty', members: [] },
      ],
    })
  )

/** The same few changes to a seeded tenant: an update, a new user, a soft delete, a membership change. */
export const changeDirectory = (tenant: string) =>
  Promise.all([
    fakeGraph(tenant, {
      action: 'upsertUsers',
      users: [{ id: 'u2', userPrincipalName: 'bob@contoso.com', displayName: 'Robert', jobTitle: 'Lead' }],
    }),
    fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'u6', userPrincipalName: 'fay@contoso.com', displayName: 'Fay' }] }),
    fakeGraph(tenant, { action: 'deleteUser', id: 'u4', how: 'soft' }),
    fakeGraph(tenant, { action: 'upsertGroups', groups: [{ id: 'g-eng', displayName: 'Engineering', members: ['u1', 'u6'] }] }),
  ])

export const byUserName = async (scim: ReturnType<typeof scimClient>) =>
  Object.fromEntries(((await scim.get('/Users?count=1000')).body.Resources as Json[]).map((u) => [u.userName, u]))
