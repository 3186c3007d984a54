import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, scimClient, type Json } from '../helpers/http'
import { connectCustomer } from '../helpers/google-customer'
import { fakeGoogle, runSync, safeguardOff } from '../helpers/sync'

/* Native Google Workspace imports through a service account, against test/fakes/google.ts. */

const users = async (scim: ReturnType<typeof scimClient>) =>
  Object.fromEntries(((await scim.get('/Users')).body.Resources as Json[]).map((u) => [u.userName, u]))
const members = async (scim: ReturnType<typeof scimClient>, name: string) =>
  ((await scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`)).body.Resources[0]?.members as Json[] | undefined)
    ?.map((m) => m.display)
    .sort()

describe('Google Workspace import', () => {
  it('imports users (suspended or archived → archived), groups and nested members', async () => {
    const { id, scim, serviceAccount } = await connectCustomer()
    const run = await runSync(id, 'succeeded')
    // Two groups, each counted once: created on the groups page, then given members by a later step.
    expect(run).toMatchObject({ mode: 'full', counts: { usersCreated: 4, groupsChanged: 2 } })
    const u = await users(scim)
    expect(u['ada@acme.example']).toMatchObject({
      externalId: 'g1',
      active: true,
      displayName: 'Ada Lovelace',
      title: 'Engineer',
      emails: [{ value: 'ada@acme.example', type: 'work', primary: true }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    })
    expect(u['cy@acme.example'].active).toBe(false)
    expect(u['dee@acme.example'].active).toBe(false)
    expect(await members(scim, 'Engineering')).toEqual(['Ada Lovelace', 'Bob'])
    expect(await members(scim, 'All')).toEqual(['Engineering', 'cy@acme.example'])
    const details = await admin('GET', `/integrations/${id}`)
    expect(details.body).toMatchObject({
      kind: 'google',
      connected: true,
      source: { mode: 'serviceAccount', adminEmail: 'admin@acme.example' },
    })
    const row = await env.DB.prepare('SELECT config, sealed_secrets FROM integrations WHERE id = ?').bind(id).first<Json>()
    expect(JSON.stringify(row)).not.toContain(serviceAccount.private_key.split('\n')[1])
    expect(JSON.stringify(details.body)).not.toContain('PRIVATE KEY')
  })

  it('writes nothing on a re-run over an unchanged directory, and archives who left after a complete listing', async () => {
    const { customer, id, scim } = await connectCustomer()
    await safeguardOff(id)
    await runSync(id, 'succeeded')
    const versions = async () =>
      (await env.DB.prepare('SELECT sum(version) AS v FROM users WHERE integration_id = ?').bind(id).first<Json>()).v
    const before = await versions()
    const again = await runSync(id, 'succeeded')
    expect(again.counts).toEqual({ usersCreated: 0, usersUpdated: 0, usersArchived: 0, usersRemoved: 0, groupsChanged: 0 })
    expect(await versions()).toBe(before)

    await fakeGoogle(customer, {
      action: 'users',
      users: [{ id: 'g1', primaryEmail: 'ada@acme.example', name: { fullName: 'Ada Lovelace' } }],
    })
    await fakeGoogle(customer, {
      action: 'groups',
      groups: [{ id: 'grp-eng', email: 'eng@acme.example', name: 'Engineering', members: [{ id: 'g1', type: 'USER' }] }],
    })
    const third = await runSync(id, 'succeeded')
    expect(third.counts.usersArchived).toBe(1)
    const u = await users(scim)
    expect(u['bob@acme.example'].active).toBe(false)
    expect(await members(scim, 'Engineering')).toEqual(['Ada Lovelace'])
    expect(await members(scim, 'All')).toBeUndefined()
  })

  it('rides out rate limits, and a failed listing archives nobody', async () => {
    const { customer, id, scim } = await connectCustomer()
    await fakeGoogle(customer, { action: 'fail', path: 'users', status: 403, reason: 'userRateLimitExceeded', times: 3 })
    await runSync(id, 'succeeded')
    expect(Object.keys(await users(scim))).toHaveLength(4)
    // Now the groups listing keeps failing: the run fails, and no user is archived for it.
    await fakeGoogle(customer, { action: 'users', users: [] })
    await fakeGoogle(customer, { action: 'fail', path: '/groups\\?', status: 503, reason: 'backendError', times: 1000 })
    const run = await runSync(id, 'failed')
    expect(run.error).toMatch(/unavailable \(503\)/)
    expect(Object.values(await users(scim)).filter((x: Json) => x.active)).toHaveLength(2)
  })

  it('reads many small groups in batches and a large group page by page', async () => {
    const { customer, id, scim } = await connectCustomer()
    const people = Array.from({ length: 450 }, (_, i) => ({ id: `p${i}`, primaryEmail: `p${i}@acme.example` }))
    await fakeGoogle(customer, { action: 'users', users: people })
    await fakeGoogle(customer, {
      action: 'groups',
      groups: [
        ...Array.from({ length: 45 }, (_, i) => ({
          id: `small${i}`,
          email: `s${i}@acme.example`,
          name: `Small ${i}`,
          members: [{ id: `p${i}`, type: 'USER' }],
        })),
        { id: 'huge', email: 'huge@acme.example', name: 'Huge', members: people.map((p) => ({ id: p.id, type: 'USER' })) },
      ],
    })
    const run = await runSync(id, 'succeeded')
    expect(run.cost.rowsWritten).toBeGreaterThan(0)
    expect(await members(scim, 'Small 44')).toEqual(['p44@acme.example'])
    const huge = (await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "Huge"')}`)).body.Resources[0]
    expect(huge.members).toHaveLength(450)
    const again = await runSync(id, 'succeeded')
    expect(again.counts.groupsChanged).toBe(0)
    expect(again.cost.rowsWritten).toBe(0)
  })

  it('explains a service account without domain-wide delegation for that admin', async () => {
    const { id } = await connectCustomer('not-an-admin@acme.example')
    const run = await runSync(id, 'failed')
    expect(run.error).toMatch(/unauthorized_client.*Domain-wide delegation/)
  })
})
