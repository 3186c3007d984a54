import { expect } from 'vitest'
import { admin, scimClient } from './http'
import { fakeGoogle } from './sync'

/* A Google integration connected to a fresh customer of the fake Google, with a small directory. */

let n = 0
export async function connectCustomer(adminEmail = 'admin@acme.example') {
  const customer = `C${Date.now()}${++n}`
  const { serviceAccount } = await fakeGoogle(customer, { action: 'create', admin: 'admin@acme.example' })
  await fakeGoogle(customer, {
    action: 'users',
    users: [
      {
        id: 'g1',
        primaryEmail: 'ada@acme.example',
        name: { givenName: 'Ada', familyName: 'Lovelace', fullName: 'Ada Lovelace' },
        organizations: [{ title: 'Engineer', department: 'R&D', primary: true }],
      },
      { id: 'g2', primaryEmail: 'bob@acme.example', name: { fullName: 'Bob' } },
      { id: 'g3', primaryEmail: 'cy@acme.example', suspended: true },
      { id: 'g4', primaryEmail: 'dee@acme.example', archived: true },
    ],
  })
  await fakeGoogle(customer, {
    action: 'groups',
    groups: [
      {
        id: 'grp-all',
        email: 'all@acme.example',
        name: 'All',
        members: [
          { id: 'grp-eng', type: 'GROUP' },
          { id: 'g3', type: 'USER' },
          { id: 'ext', type: 'EXTERNAL' },
        ],
      },
      {
        id: 'grp-eng',
        email: 'eng@acme.example',
        name: 'Engineering',
        members: [
          { id: 'g1', type: 'USER' },
          { id: 'g2', type: 'USER' },
        ],
      },
    ],
  })
  const res = await admin('POST', '/integrations', {
    kind: 'google',
    name: `Google ${customer}`,
    serviceAccount,
    adminEmail,
    customerId: 'my_customer',
  })
  expect(res.status).toBe(201)
  return { customer, id: res.body.id as string, scim: scimClient(res.body.token), serviceAccount }
}
