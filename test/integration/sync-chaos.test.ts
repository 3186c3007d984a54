import { describe, expect, it } from 'vitest'
import { CHAOS_KINDS } from '../fakes/chaos'
import { connectCustomer } from '../helpers/google-customer'
import { directoryState } from '../helpers/directory-state'
import { byUserName, connectTenant } from '../helpers/graph-tenant'
import { fakeGoogle, fakeGraph, runSync, safeguardOff, usersDeltaLink } from '../helpers/sync'

/*
 * Imports whose source misbehaves at random pages (test/fakes/chaos.ts): 429, 503, an HTML error
 * page, JSON cut short, JSON of another shape, items in a changed schema, an access token that
 * expires mid-run. Two directories are seeded alike; one source answers cleanly, the other with
 * faults, and after every run both hold the same users, groups, memberships and feed: no page that
 * was missing or garbled archived or removed anyone.
 */

const CHAOS = { seed: 20261207, rate: 0.5 }

const users = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `u${i}`,
    userPrincipalName: `user${i}@contoso.com`,
    displayName: `User ${i}`,
    jobTitle: i % 3 ? 'Engineer' : 'Manager',
  }))

async function seedGraph(tenant: string) {
  await fakeGraph(tenant, { action: 'upsertUsers', users: users(16) })
  await fakeGraph(tenant, {
    action: 'upsertGroups',
    groups: [
      { id: 'g-all', displayName: 'Everyone', members: users(16).map((u) => u.id) },
      { id: 'g-odd', displayName: 'Odd', members: ['u1', 'u3', 'u5', 'u7', 'g-small'] },
      { id: 'g-small', displayName: 'Small', members: ['u2'] },
    ],
  })
}

/** The same changes to both tenants: an update, a soft and a hard delete, a new user, a membership change. */
async function changeGraph(tenant: string) {
  await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'u4', userPrincipalName: 'user4@contoso.com', jobTitle: 'Lead' }] })
  await fakeGraph(tenant, { action: 'deleteUser', id: 'u5', how: 'soft' })
  await fakeGraph(tenant, { action: 'deleteUser', id: 'u6', how: 'hard' })
  await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'u20', userPrincipalName: 'new@contoso.com', displayName: 'New' }] })
  await fakeGraph(tenant, { action: 'upsertGroups', groups: [{ id: 'g-small', displayName: 'Small', members: ['u2', 'u20'] }] })
}

describe('imports from a source that fails at random pages', () => {
  it('Graph: a first run, an incremental one and a full resync each end where a clean run ends', { timeout: 120_000 }, async () => {
    const clean = await connectTenant({ pageSize: 3 })
    const chaotic = await connectTenant({ pageSize: 3 })
    for (const t of [clean, chaotic]) {
      await seedGraph(t.tenant)
      await safeguardOff(t.id)
      await fakeGraph(t.tenant, { action: 'settings', membersPerPage: 4 })
    }
    await fakeGraph(chaotic.tenant, { action: 'settings', chaos: CHAOS })
    const same = async () => {
      const [a, b] = [await directoryState(clean.id, clean.scim), await directoryState(chaotic.id, chaotic.scim)]
      expect(b).toEqual(a)
      return a
    }
    const runBoth = async () => {
      const a = await runSync(clean.id, 'succeeded')
      const b = await runSync(chaotic.id, 'succeeded')
      expect(b.counts).toEqual(a.counts)
    }

    await runBoth()
    expect((await same()).users).toHaveLength(16)

    await changeGraph(clean.tenant)
    await changeGraph(chaotic.tenant)
    await runBoth()
    const afterChanges = await same()
    expect(afterChanges.users).toContain('user4@contoso.com true User 4 Lead')
    expect(afterChanges.users).toContain('user5@contoso.com false User 5 Engineer')

    // Delta tokens expire: the next run lists everything again, and whoever it does not see is archived.
    for (const t of [clean, chaotic]) await fakeGraph(t.tenant, { action: 'expireDeltaTokens' })
    await runBoth()
    await same()
    expect(String(await usersDeltaLink(chaotic.id)).replaceAll(chaotic.tenant, '')).toBe(
      String(await usersDeltaLink(clean.id)).replaceAll(clean.tenant, '')
    )

    // The faults happened, every kind of them.
    const injected = (await fakeGraph(chaotic.tenant, { action: 'state' })).chaos as Record<string, number>
    expect(Object.keys(injected).sort()).toEqual([...CHAOS_KINDS].sort())
  })

  it('Google: a first run and a re-run after changes each end where a clean run ends', { timeout: 120_000 }, async () => {
    const clean = await connectCustomer()
    const chaotic = await connectCustomer()
    const directory = (n: number) => ({
      users: Array.from({ length: n }, (_, i) => ({ id: `g${i}`, primaryEmail: `user${i}@acme.example`, name: { fullName: `User ${i}` } })),
      groups: [
        {
          id: 'grp-all',
          email: 'all@acme.example',
          name: 'All',
          members: Array.from({ length: n }, (_, i) => ({ id: `g${i}`, type: 'USER' })),
        },
        { id: 'grp-eng', email: 'eng@acme.example', name: 'Engineering', members: [{ id: 'g1', type: 'USER' }] },
      ],
    })
    for (const c of [clean, chaotic]) {
      await fakeGoogle(c.customer, { action: 'settings', pageSize: 2 })
      await fakeGoogle(c.customer, { action: 'users', users: directory(14).users })
      await fakeGoogle(c.customer, { action: 'groups', groups: directory(14).groups })
      await safeguardOff(c.id)
    }
    await fakeGoogle(chaotic.customer, { action: 'settings', chaos: CHAOS })
    const runBoth = async () => {
      const a = await runSync(clean.id, 'succeeded')
      const b = await runSync(chaotic.id, 'succeeded')
      expect(b.counts).toEqual(a.counts)
    }
    const same = async () => {
      const [a, b] = [await directoryState(clean.id, clean.scim), await directoryState(chaotic.id, chaotic.scim)]
      expect(b).toEqual(a)
      return a
    }
    await runBoth()
    expect((await same()).users).toHaveLength(14)

    // Two users leave (the full listing no longer has them: archived), one joins, a group changes.
    const next = directory(12)
    next.users.push({ id: 'g99', primaryEmail: 'new@acme.example', name: { fullName: 'New' } })
    next.groups[1]!.members.push({ id: 'g99', type: 'USER' })
    for (const c of [clean, chaotic]) {
      await fakeGoogle(c.customer, { action: 'users', users: next.users })
      await fakeGoogle(c.customer, { action: 'groups', groups: next.groups })
    }
    await runBoth()
    const after = await same()
    expect(after.users.filter((u) => u.includes(' false '))).toEqual([
      'user12@acme.example false User 12 ',
      'user13@acme.example false User 13 ',
    ])

    const injected = (await fakeGoogle(chaotic.customer, { action: 'state' })).chaos as Record<string, number>
    expect(Object.keys(injected).sort()).toEqual([...CHAOS_KINDS].sort())
  })
})

describe('imports from a source whose clock is off ours', () => {
  it(
    'Graph ten minutes ahead: its Retry-After dates are read on its own clock, not as ten minutes of waiting',
    { timeout: 30_000 },
    async () => {
      const { tenant, id, scim } = await connectTenant({ pageSize: 2 })
      await fakeGraph(tenant, { action: 'upsertUsers', users: users(6) })
      await fakeGraph(tenant, { action: 'settings', clockSkewMs: 10 * 60_000 })
      // Three 429s in a row on the first page, each asking for one second as a date on the tenant's
      // clock: more than the Workflow's step retries (2 in tests) if each were read as ten minutes.
      await fakeGraph(tenant, { action: 'fail', path: 'users/delta', status: 429, retryAfter: 1, times: 3 })
      const run = await runSync(id, 'succeeded')
      expect(run.counts.usersCreated).toBe(6)
      expect(Object.keys(await byUserName(scim))).toHaveLength(6)
      expect((await fakeGraph(tenant, { action: 'state' })).faultsLeft).toBe(0)
    }
  )

  it('Google three minutes behind: the service account assertion is not from its future', async () => {
    const { customer, id } = await connectCustomer()
    await fakeGoogle(customer, { action: 'settings', clockSkewMs: -3 * 60_000 })
    const run = await runSync(id, 'succeeded')
    expect(run.counts.usersCreated).toBe(4)
  })
})
