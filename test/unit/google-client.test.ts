import { describe, expect, it } from 'vitest'
import { SyncError } from '../../src/sync/errors'
import { googleClient } from '../../src/sync/google/client'
import { googleUserDoc, memberRefs } from '../../src/sync/google/map'
import { defaultRetryPolicy } from '../../src/sync/retry'
import { FakeGoogle } from '../fakes/google'

async function setup(admin = 'admin@acme.example', userCount = 7) {
  const google = new FakeGoogle()
  const { customer, serviceAccount } = await google.addCustomer('C0acme', 'admin@acme.example')
  customer.users = Array.from({ length: userCount }, (_, i) => ({ id: `g-u${i}`, primaryEmail: `user${i}@acme.example` }))
  const waits: number[] = []
  const client = googleClient(
    {
      tokenUrl: google.tokenUrl,
      directoryBaseUrl: 'https://admin.fake.test',
      credentials: { kind: 'serviceAccount', serviceAccount, adminEmail: admin },
      customerId: 'my_customer',
    },
    defaultRetryPolicy({ sleep: async (ms) => void waits.push(ms) }),
    (input, init) => google.handler(new Request(input as string, init))
  )
  return { google, customer, client, waits }
}

describe('googleClient against the fake Google', () => {
  it('signs its JWT so Google accepts it, and pages users.list with pageToken', async () => {
    // 1,203 users: the client asks for 500 a page, so three pages.
    const { client } = await setup('admin@acme.example', 1203)
    const ids: string[] = []
    const sizes: number[] = []
    let token: string | undefined
    do {
      const page = await client.users(token)
      const users = page.users as { id: string }[]
      sizes.push(users.length)
      ids.push(...users.map((u) => u.id))
      token = page.nextPageToken as string | undefined
    } while (token)
    expect(sizes).toEqual([500, 500, 203])
    expect(new Set(ids).size).toBe(1203)
  })

  it('tries a page that is not JSON again, and fails saying so when it stays broken', async () => {
    const google = new FakeGoogle()
    const { customer, serviceAccount } = await google.addCustomer('C0acme', 'admin@acme.example')
    customer.users = [{ id: 'g-u1', primaryEmail: 'user1@acme.example' }]
    let broken = 1
    let always = false
    const client = googleClient(
      {
        tokenUrl: google.tokenUrl,
        directoryBaseUrl: 'https://admin.fake.test',
        credentials: { kind: 'serviceAccount', serviceAccount, adminEmail: 'admin@acme.example' },
        customerId: 'my_customer',
      },
      defaultRetryPolicy({ sleep: async () => {} }),
      async (input, init) => {
        const real = await google.handler(new Request(input as string, init))
        if (!String(input).includes('/users') || (!always && broken-- <= 0)) return real
        return new Response('<html>503 from a proxy</html>', { headers: { 'content-type': 'text/html' } })
      }
    )
    expect(((await client.users()).users as { id: string }[]).map((u) => u.id)).toEqual(['g-u1'])
    always = true
    const error = await client.users().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SyncError)
    expect((error as SyncError).message).toBe(
      'Google Directory API sent a response that is not JSON (HTTP 200, text/html). Gave up after 5 attempts.'
    )
  })

  it('backs off on 403 userRateLimitExceeded, 429 and 503', async () => {
    const { customer, client, waits } = await setup()
    customer.faults.push(
      { path: /users/, status: 403, reason: 'userRateLimitExceeded', times: 1 },
      { path: /users/, status: 429, reason: 'rateLimitExceeded', times: 1, retryAfter: 3 },
      { path: /users/, status: 503, reason: 'backendError', times: 1 }
    )
    await client.users()
    expect(waits).toEqual([1000, 3000, 4000])
  })

  it('explains a missing domain-wide delegation', async () => {
    const { client } = await setup('someone-else@acme.example')
    const err = await client.users().catch((e) => e)
    expect(err).toBeInstanceOf(SyncError)
    expect(err.message).toMatch(/unauthorized_client.*Domain-wide delegation/)
  })
})

describe('Google → directory mapping', () => {
  it('maps users: primaryEmail, the primary organization, suspended or archived as archived', () => {
    expect(
      googleUserDoc({
        id: '1',
        primaryEmail: 'ada@acme.example',
        name: { givenName: 'Ada', familyName: 'L', fullName: 'Ada L' },
        suspended: true,
        organizations: [{ title: 'x' }, { title: 'Eng', department: 'R&D', primary: true }],
      })
    ).toEqual({
      userName: 'ada@acme.example',
      externalId: '1',
      active: false,
      displayName: 'Ada L',
      name: { givenName: 'Ada', familyName: 'L' },
      emails: [{ value: 'ada@acme.example', type: 'work', primary: true }],
      title: 'Eng',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    })
    expect(googleUserDoc({ id: '2', primaryEmail: 'b@acme.example', archived: true }).active).toBe(false)
    expect(
      memberRefs([
        { id: 'u', type: 'USER' },
        { id: 'g', type: 'GROUP' },
        { id: 'c', type: 'CUSTOMER' },
      ])
    ).toEqual([
      { sourceId: 'u', type: 'User' },
      { sourceId: 'g', type: 'Group' },
    ])
  })
})
