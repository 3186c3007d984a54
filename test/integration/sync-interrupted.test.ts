import { introspectWorkflow } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { directoryState as state } from '../helpers/directory-state'
import { changeDirectory, connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { runSync, safeguardOff, usersDeltaLink } from '../helpers/sync'

/*
 * A run interrupted at every step boundary (each step of the Graph import fails once, as when a
 * deploy or an eviction stops the Workflow there, and the platform retries it) ends where an
 * uninterrupted run of the same directory ends: the same users, groups, memberships, delta position
 * and change feed. Two tenants are seeded alike; one is synced as is, the other with every step
 * failing once.
 */

const STEPS = [
  'source and scope',
  'plan',
  ...['users', 'groups'].flatMap((kind) =>
    ['full', 'delta'].flatMap((mode) => Array.from({ length: 6 }, (_, n) => `${kind} ${mode} page ${n}`))
  ),
  'finish listing',
  'safeguard',
  'finish',
]

const position = async (id: string, tenant: string) => String(await usersDeltaLink(id)).replaceAll(tenant, '<tenant>')

describe('a Graph import interrupted at every step', () => {
  it('ends, on the first run and on an incremental one, exactly where an uninterrupted run ends', { timeout: 60_000 }, async () => {
    const plain = await connectTenant()
    const broken = await connectTenant()
    await Promise.all([seedDirectory(plain.tenant), seedDirectory(broken.tenant), safeguardOff(plain.id), safeguardOff(broken.id)])

    await runSync(plain.id, 'succeeded')
    await changeDirectory(plain.tenant)
    await runSync(plain.id, 'succeeded')

    const introspector = await introspectWorkflow(env.SYNC)
    try {
      await introspector.modifyAll(async (m) => {
        for (const name of STEPS) await m.mockStepError({ name }, new Error(`interrupted before "${name}"`), 1)
      })
      const first = await runSync(broken.id, 'succeeded')
      expect(first.counts.usersCreated).toBe(5)
      // The interruptions happened: each waits SYNC_STEP_DELAY (1 s in tests) before its retry, and the
      // first run has about ten steps (an uninterrupted one takes well under a second here).
      expect(first.durationMs).toBeGreaterThanOrEqual(5000)
      await changeDirectory(broken.tenant)
      await runSync(broken.id, 'succeeded')
    } finally {
      await introspector.dispose()
    }

    expect(await state(broken.id, broken.scim)).toEqual(await state(plain.id, plain.scim))
    expect(await position(broken.id, broken.tenant)).toBe(await position(plain.id, plain.tenant))
    const final = await state(broken.id, broken.scim)
    expect(final.users).toContain('bob@contoso.com true Robert Lead')
    expect(final.users.some((u) => u.startsWith('fay@contoso.com'))).toBe(true)
  })
})
