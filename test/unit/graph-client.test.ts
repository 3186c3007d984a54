import { describe, expect, it } from 'vitest'
import { DeltaExpired, SyncError } from '../../src/sync/errors'
import { graphClient, type GraphPage } from '../../src/sync/graph/client'
import { groupItem, userDoc, userItem } from '../../src/sync/graph/map'
import { defaultRetryPolicy } from '../../src/sync/retry'
import { FakeCloud } from '../fakes/graph'

const settings = {
  loginBaseUrl: 'https://login.fake',
  graphBaseUrl: 'https://graph.fake',
  tenantId: 'contoso',
  clientId: 'client-id',
  clientSecret: 'client-secret',
}

function setup(pageSize = 2) {
  const cloud = new FakeCloud()
  const tenant = cloud.tenant('contoso')
  tenant.pageSize = pageSize
  for (let i = 1; i <= 5; i++) tenant.upsertUser({ id: `u${i}`, userPrincipalName: `user${i}@contoso.com`, displayName: `User ${i}` })
  const waits: number[] = []
  const client = graphClient(settings, defaultRetryPolicy({ sleep: async (ms) => void waits.push(ms) }), (input, init) =>
    cloud.handler(new Request(input as string, init))
  )
  return { cloud, tenant, client, waits }
}

async function drain(client: ReturnType<typeof setup>['client'], url: string) {
  const items: Record<string, unknown>[] = []
  let pages = 0
  for (;;) {
    const page: GraphPage = await client.get(url)
    pages++
    items.push(...page.value)
    if (page['@odata.deltaLink']) return { items, pages, deltaLink: page['@odata.deltaLink'] }
    url = page['@odata.nextLink']!
  }
}

describe('graphClient against the fake Graph', () => {
  it('pages a full delta listing to its deltaLink, then reads only the changes', async () => {
    const { tenant, client } = setup()
    const full = await drain(client, client.usersDelta())
    expect(new Set(full.items.map((u) => u.id))).toEqual(new Set(['u1', 'u2', 'u3', 'u4', 'u5']))
    tenant.upsertUser({ id: 'u2', userPrincipalName: 'user2@contoso.com', jobTitle: 'Boss' })
    tenant.deleteUser('u3', 'soft')
    tenant.deleteUser('u4', 'hard')
    const delta = await drain(client, full.deltaLink)
    expect(delta.items.map(userItem)).toEqual(
      expect.arrayContaining([
        { kind: 'user', user: expect.objectContaining({ id: 'u2', jobTitle: 'Boss' }) },
        { kind: 'removed', id: 'u3', reason: 'changed' },
        { kind: 'removed', id: 'u4', reason: 'deleted' },
      ])
    )
  })

  it('follows an empty page that still has a nextLink', async () => {
    const { client } = setup(10)
    const full = await drain(client, client.usersDelta())
    expect(full.pages).toBe(2)
    expect(full.items).toHaveLength(5)
  })

  it('honours Retry-After on 429 and backs off on 503, within a bounded number of attempts', async () => {
    const { tenant, client, waits } = setup()
    tenant.fail(/users\/delta/, 429, 1, 7)
    tenant.fail(/users\/delta/, 503, 2)
    await drain(client, client.usersDelta())
    // Retry-After first, then exponential backoff by attempt (attempts 2 and 3 of the same call).
    expect(waits).toEqual([7000, 2000, 4000])
    tenant.fail(/users\/delta/, 503, 99)
    const err = await client.get(client.usersDelta()).catch((e) => e)
    expect(err).toBeInstanceOf(SyncError)
    expect(err.message).toMatch(/unavailable \(503\).*Gave up after 5 attempts/)
  })

  it('names the host it could not reach, however the runtime words the failure, and retries it', async () => {
    const attempts: string[] = []
    // workerd's words for a refused connection carry nothing an admin can act on.
    const client = graphClient(settings, defaultRetryPolicy({ sleep: async () => {} }), async (input) => {
      attempts.push(String(input))
      throw new Error('internal error; reference = 9f3c2a1b')
    })
    const error = await client.get('https://graph.fake/v1.0/users/delta').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SyncError)
    expect((error as SyncError).kind).toBe('network')
    expect((error as SyncError).permanent).toBe(false)
    expect((error as SyncError).message).toMatch(
      /^Microsoft sign-in: could not reach login\.fake \(no response: internal error; reference = 9f3c2a1b\)\. .*Gave up after 5 attempts\.$/
    )
    expect(attempts).toHaveLength(5)
  })

  it('tries again after a page that is not JSON (an HTML error page, a body cut short), and says so if it persists', async () => {
    const cloud = new FakeCloud()
    cloud.tenant('contoso').upsertUser({ id: 'u1', userPrincipalName: 'user1@contoso.com' })
    let broken = 1
    const flaky = graphClient(settings, defaultRetryPolicy({ sleep: async () => {} }), async (input, init) => {
      const real = await cloud.handler(new Request(input as string, init))
      if (!String(input).includes('/users') || broken-- <= 0) return real
      return new Response('<html><body>502 Bad Gateway</body></html>', { headers: { 'content-type': 'text/html' } })
    })
    expect((await drain(flaky, flaky.usersDelta())).items.map((u) => u.id)).toEqual(['u1'])

    const truncated = graphClient(settings, defaultRetryPolicy({ sleep: async () => {} }), async (input, init) => {
      const real = await cloud.handler(new Request(input as string, init))
      if (!String(input).includes('/users')) return real
      const text = await real.text()
      return new Response(text.slice(0, text.length / 2), { headers: { 'content-type': 'application/json' } })
    })
    const error = await truncated.get(truncated.usersDelta()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SyncError)
    expect((error as SyncError).message).toBe(
      'Microsoft Graph sent a response that is not JSON (HTTP 200, application/json). Gave up after 5 attempts.'
    )
  })

  it('refuses to wait longer than its limit for a Retry-After', async () => {
    const { tenant, client } = setup()
    tenant.fail(/users\/delta/, 429, 1, 3600)
    await expect(client.get(client.usersDelta())).rejects.toThrow(/asked to wait 3600 s/)
  })

  it('fetches a new access token when one expires mid-run', async () => {
    const { cloud, client } = setup()
    const first = await client.get(client.usersDelta())
    cloud.expireTokens()
    const second = await client.get(first['@odata.nextLink']!)
    expect(second.value.length).toBeGreaterThan(0)
  })

  it('reports an expired delta token as DeltaExpired', async () => {
    const { tenant, client } = setup()
    const full = await drain(client, client.usersDelta())
    tenant.upsertUser({ id: 'u9', userPrincipalName: 'u9@contoso.com' })
    tenant.expiredBefore = tenant.seq + 1
    await expect(client.get(full.deltaLink)).rejects.toBeInstanceOf(DeltaExpired)
  })

  it('explains refused credentials, and never sends the token to another host', async () => {
    const cloud = new FakeCloud()
    cloud.tenant('contoso', 'client-id', 'the-real-secret')
    const client = graphClient(settings, defaultRetryPolicy({ sleep: async () => {} }), (i, init) =>
      cloud.handler(new Request(i as string, init))
    )
    await expect(client.get(client.usersDelta())).rejects.toThrow(/refused the app's credentials \(invalid_client\)/)
    await expect(client.get('https://evil.example/v1.0/users')).rejects.toThrow(/Refusing to follow a link outside/)
  })
})

describe('Graph → directory mapping', () => {
  it('maps a Graph user to the SCIM user model', () => {
    expect(
      userDoc({
        id: 'u1',
        userPrincipalName: 'ada@contoso.com',
        givenName: 'Ada',
        surname: 'Lovelace',
        mail: 'Ada@contoso.com',
        jobTitle: 'Engineer',
        department: 'R&D',
        accountEnabled: false,
      })
    ).toEqual({
      userName: 'ada@contoso.com',
      externalId: 'u1',
      active: false,
      displayName: 'Ada Lovelace',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ value: 'Ada@contoso.com', type: 'work', primary: true }],
      title: 'Engineer',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    })
    expect(userDoc({ id: 'u2', userPrincipalName: 'b@contoso.com', mail: null, accountEnabled: null })).toEqual({
      userName: 'b@contoso.com',
      externalId: 'u2',
      active: true,
    })
  })

  it('reads members@delta: users and groups added, removals, other object types ignored', () => {
    expect(
      groupItem({
        id: 'g1',
        displayName: 'Eng',
        'members@delta': [
          { '@odata.type': '#microsoft.graph.user', id: 'u1' },
          { '@odata.type': '#microsoft.graph.group', id: 'g2' },
          { '@odata.type': '#microsoft.graph.orgContact', id: 'c1' },
          { '@odata.type': '#microsoft.graph.user', id: 'u3', '@removed': { reason: 'deleted' } },
        ],
      })
    ).toEqual({
      kind: 'group',
      id: 'g1',
      displayName: 'Eng',
      added: [
        { id: 'u1', type: 'User' },
        { id: 'g2', type: 'Group' },
      ],
      removed: ['u3'],
    })
    expect(groupItem({ id: 'g1', '@removed': { reason: 'deleted' } })).toEqual({ kind: 'removed', id: 'g1' })
  })
})
