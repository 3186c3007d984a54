import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { USER_SELECT } from '../../src/sync/graph/client'
import { connectCustomer } from '../helpers/google-customer'
import { byUserName, connectTenant } from '../helpers/graph-tenant'
import { admin, ERROR_SCHEMA, type Json } from '../helpers/http'
import { fakeGoogle, fakeGraph, runSync, usersDeltaLink, waitForRun } from '../helpers/sync'

/*
 * An import scoped to source groups: only their members, however nested, are imported, with those
 * groups and the groups nested in them; who leaves the scope is archived under the safeguard.
 */

const scope = (id: string, groups: string[] | null) => admin('PATCH', `/integrations/${id}`, { scope: groups && { groups } })

/** The group's members in the directory, as userNames and group names. */
async function membersOf(scim: Awaited<ReturnType<typeof connectTenant>>['scim'], displayName: string) {
  const list = await scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`)
  expect(list.body.totalResults, `group ${displayName}`).toBe(1)
  const group = list.body.Resources[0] as Json
  return ((group.members ?? []) as Json[]).map((m) => m.display as string).sort()
}

/** The userNames of the integration's active users. */
const active = async (scim: Awaited<ReturnType<typeof connectTenant>>['scim']) =>
  Object.values(await byUserName(scim))
    .filter((u: Json) => u.active !== false)
    .map((u: Json) => u.userName as string)
    .sort()

const groupNames = async (scim: Awaited<ReturnType<typeof connectTenant>>['scim']) =>
  ((await scim.get('/Groups?count=100')).body.Resources as Json[]).map((g) => g.displayName as string).sort()

/** Sales ⊃ EMEA ⊃ UK, three levels deep, and Support beside them; one object a page, so every listing pages. */
async function nestedTenant() {
  const t = await connectTenant({ pageSize: 1 })
  await fakeGraph(t.tenant, {
    action: 'upsertUsers',
    users: [
      { id: 'u1', userPrincipalName: 'ann@contoso.com', displayName: 'Ann' },
      { id: 'u2', userPrincipalName: 'ben@contoso.com', displayName: 'Ben' },
      { id: 'u3', userPrincipalName: 'cat@contoso.com', displayName: 'Cat' },
      { id: 'u4', userPrincipalName: 'dan@contoso.com', displayName: 'Dan' },
      { id: 'u5', userPrincipalName: 'eli@contoso.com', displayName: 'Eli' },
    ],
  })
  await fakeGraph(t.tenant, {
    action: 'upsertGroups',
    groups: [
      { id: 'g-uk', displayName: 'UK', members: ['u3'] },
      { id: 'g-emea', displayName: 'EMEA', members: ['u2', 'g-uk'] },
      { id: 'g-sales', displayName: 'Sales', members: ['u1', 'g-emea'] },
      { id: 'g-support', displayName: 'Support', members: ['u4', 'u5'] },
    ],
  })
  return t
}

describe('scoped Entra import', () => {
  it('imports only the transitive members of the scope groups, with the nested groups and their memberships', async () => {
    const { id, scim, tenant } = await nestedTenant()
    const set = await scope(id, ['g-sales'])
    expect(set.status, JSON.stringify(set.body)).toBe(200)
    expect(set.body.scope).toEqual({ groups: ['g-sales'] })

    const run = await runSync(id, 'succeeded')
    expect(run.counts.usersCreated).toBe(3)
    // Sales, EMEA and UK, each once (created by the scope listing, then given members).
    expect(run.counts.groupsChanged).toBe(3)
    expect(await active(scim)).toEqual(['ann@contoso.com', 'ben@contoso.com', 'cat@contoso.com'])
    expect(await groupNames(scim)).toEqual(['EMEA', 'Sales', 'UK'])
    expect(await membersOf(scim, 'Sales')).toEqual(['Ann', 'EMEA'])
    expect(await membersOf(scim, 'EMEA')).toEqual(['Ben', 'UK'])
    expect(await membersOf(scim, 'UK')).toEqual(['Cat'])
    // A scoped run lists its scope, not the tenant: no delta listing, so no delta position.
    expect(await usersDeltaLink(id)).toBeNull()
    const { paths } = await fakeGraph(tenant, { action: 'state', paths: true })
    expect(paths.filter((p: string) => p.includes('/delta'))).toEqual([])
    expect(paths).toContain(`/v1.0/groups/g-sales/transitiveMembers?$select=${USER_SELECT},description`)
    // Sales' two members came over two pages of /members, followed by its nextLink.
    expect(paths.filter((p: string) => p.startsWith('/v1.0/groups/g-sales/members?'))).toEqual([
      '/v1.0/groups/g-sales/members?$select=id',
      '/v1.0/groups/g-sales/members?%24select=id&%24skiptoken=1',
    ])

    // A second run over the same scope changes nothing.
    const again = await runSync(id, 'succeeded')
    expect(again.counts).toMatchObject({ usersCreated: 0, usersUpdated: 0, usersArchived: 0, groupsChanged: 0 })
    expect(again.cost.rowsWritten).toBeLessThan(run.cost.rowsWritten)
  })

  it('archives a user who left the scope, under the same safeguard, with the reason', async () => {
    const { id, scim, tenant } = await nestedTenant()
    await scope(id, ['g-sales'])
    await runSync(id, 'succeeded')
    // Cat leaves UK (and so Sales) but stays in the tenant.
    await fakeGraph(tenant, { action: 'upsertGroups', groups: [{ id: 'g-uk', displayName: 'UK', members: [] }] })

    // One of three active users is 33 %, above the default 10 %: held, nobody archived yet.
    const held = await runSync(id, 'held')
    expect(held.changes).toMatchObject({ usersArchived: 1 })
    expect(held.changes.users[0]).toMatchObject({ action: 'archive', userName: 'cat@contoso.com' })
    expect(held.changes.users[0].reason).toMatch(/left the import's scope/)
    expect(await active(scim)).toContain('cat@contoso.com')

    const approved = await admin('POST', `/integrations/${id}/syncs/${held.runId}/approve`)
    expect(approved.status).toBe(202)
    const done = await waitForRun(id, held.runId)
    expect(done.status).toBe('succeeded')
    expect(done.report.archived.users[0]).toMatchObject({
      userName: 'cat@contoso.com',
      reason: expect.stringMatching(/left the import's scope/),
    })
    expect(await active(scim)).toEqual(['ann@contoso.com', 'ben@contoso.com'])
    expect((await byUserName(scim))['cat@contoso.com'].active).toBe(false)
    expect(await membersOf(scim, 'UK')).toEqual([])
  })

  it('scoping an imported tenant is held by the safeguard; removing the scope imports everyone again', async () => {
    const { id, scim } = await nestedTenant()
    expect((await runSync(id, 'succeeded')).counts.usersCreated).toBe(5)
    expect(await usersDeltaLink(id)).not.toBeNull()

    // A scope that keeps 3 of 5 is the kind of mistake the safeguard exists for.
    await scope(id, ['g-sales'])
    expect(await usersDeltaLink(id)).toBeNull()
    const held = await runSync(id, 'held')
    expect(held.changes).toMatchObject({ usersArchived: 2 })
    expect((await admin('POST', `/integrations/${id}/syncs/${held.runId}/reject`)).status).toBe(200)
    expect(await active(scim)).toHaveLength(5)

    const cleared = await scope(id, null)
    expect(cleared.status).toBe(200)
    expect(cleared.body.scope).toBeNull()
    const full = await runSync(id, 'succeeded')
    expect(full.mode).toBe('full')
    expect(full.counts.usersArchived).toBe(0)
    expect(await active(scim)).toHaveLength(5)
    expect(await usersDeltaLink(id)).not.toBeNull()
  })

  it('a scope group Entra does not have fails the run at once, naming it, and archives nobody', async () => {
    const { id, scim, tenant } = await nestedTenant()
    await scope(id, ['g-sales'])
    await runSync(id, 'succeeded')
    await fakeGraph(tenant, { action: 'deleteGroup', id: 'g-sales' })
    const before = (await fakeGraph(tenant, { action: 'state' })).requests as number
    const failed = await runSync(id, 'failed')
    expect(failed.error).toContain('The scope group "g-sales" does not exist in Microsoft Entra ID')
    expect(failed.error).toContain('Nobody was archived')
    // Not retried: one request for the group, and the run stopped.
    expect((await fakeGraph(tenant, { action: 'state' })).requests - before).toBe(1)
    expect(await active(scim)).toHaveLength(3)
  })

  it('a dry run of a scope reports who it would archive for leaving it, and writes nothing', async () => {
    const { id, scim } = await nestedTenant()
    await runSync(id, 'succeeded')
    await scope(id, ['g-support'])
    const started = await admin('POST', `/integrations/${id}/sync`, { dryRun: true })
    expect(started.status).toBe(202)
    const preview = await waitForRun(id, started.body.runId)
    expect(preview.status).toBe('succeeded')
    expect(preview.cost.rowsWritten).toBe(0)
    expect(preview.report.archived.count).toBe(3)
    expect(preview.report.archived.users.map((u: Json) => u.userName).sort()).toEqual([
      'ann@contoso.com',
      'ben@contoso.com',
      'cat@contoso.com',
    ])
    expect(preview.report.wouldHold).toMatch(/would archive 3/)
    expect(await active(scim)).toHaveLength(5)
  })
})

describe('scope settings', () => {
  it('are refused, saying why, on a SCIM integration and when malformed', async () => {
    const scimIntegration = await admin('POST', '/integrations', { kind: 'scim', name: `Okta scope ${Date.now()}` })
    const refused = await scope(scimIntegration.body.id, ['g1'])
    expect(refused.status).toBe(400)
    expect(refused.body.schemas).toEqual([ERROR_SCHEMA])
    expect(refused.body.detail).toMatch(/receives SCIM pushes/)

    const { id } = await connectTenant()
    for (const [body, detail] of [
      [{ scope: { groups: 'g1' } }, /scope\.groups/],
      [{ scope: { groups: [''] } }, /must not be empty/],
      [{ scope: { groups: Array.from({ length: 51 }, (_, i) => `g${i}`) } }, /at most 50 groups/],
    ] as const) {
      const res = await admin('PATCH', `/integrations/${id}`, body)
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.detail).toMatch(detail)
    }
    // An empty list means everyone, as null does; duplicates are kept once.
    expect((await scope(id, [])).body.scope).toBeNull()
    expect((await scope(id, ['a', 'a', 'b'])).body.scope).toEqual({ groups: ['a', 'b'] })
    const row = await env.DB.prepare('SELECT scope_groups AS s FROM integrations WHERE id = ?').bind(id).first<Json>()
    expect(JSON.parse(row!.s)).toEqual(['a', 'b'])
  })
})

describe('scoped Google import', () => {
  it('imports the derived members of the scope groups, and archives who leaves the scope', async () => {
    const { customer, id, scim } = await connectCustomer()
    // Beside the helper's All ⊃ Engineering: Ops, with a user the scope leaves out.
    const users = [
      { id: 'g1', primaryEmail: 'ada@acme.example', name: { fullName: 'Ada' } },
      { id: 'g2', primaryEmail: 'bob@acme.example', name: { fullName: 'Bob' } },
      { id: 'g5', primaryEmail: 'ops@acme.example', name: { fullName: 'Ops person' } },
    ]
    const groups = (engineering: string[]) => [
      { id: 'grp-all', email: 'all@acme.example', name: 'All', members: [{ id: 'grp-eng', type: 'GROUP' }] },
      { id: 'grp-eng', email: 'eng@acme.example', name: 'Engineering', members: engineering.map((u) => ({ id: u, type: 'USER' })) },
      { id: 'grp-ops', email: 'ops@acme.example', name: 'Ops', members: [{ id: 'g5', type: 'USER' }] },
    ]
    await fakeGoogle(customer, { action: 'users', users })
    await fakeGoogle(customer, { action: 'groups', groups: groups(['g1', 'g2']) })
    expect((await scope(id, ['grp-all'])).status).toBe(200)

    const run = await runSync(id, 'succeeded')
    expect(run.counts.usersCreated).toBe(2)
    expect(await active(scim)).toEqual(['ada@acme.example', 'bob@acme.example'])
    expect(await groupNames(scim)).toEqual(['All', 'Engineering'])
    expect(await membersOf(scim, 'All')).toEqual(['Engineering'])
    expect(await membersOf(scim, 'Engineering')).toEqual(['Ada', 'Bob'])

    // Bob leaves Engineering: out of scope, archived (the safeguard is off for this small directory).
    await admin('PATCH', `/integrations/${id}`, { safeguard: { percent: 0, maxUsers: 0 } })
    await fakeGoogle(customer, { action: 'groups', groups: groups(['g1']) })
    const next = await runSync(id, 'succeeded')
    expect(next.counts.usersArchived).toBe(1)
    expect(next.report.archived.users[0]).toMatchObject({
      userName: 'bob@acme.example',
      reason: expect.stringMatching(/left the import's scope/),
    })
    expect(await active(scim)).toEqual(['ada@acme.example'])
  })

  it('a scope group Google does not have fails the run at once and archives nobody', async () => {
    const { id, scim } = await connectCustomer()
    await runSync(id, 'succeeded')
    const before = (await active(scim)).length
    await scope(id, ['grp-gone'])
    const failed = await runSync(id, 'failed')
    expect(failed.error).toContain('The scope group "grp-gone" does not exist in Google Workspace')
    expect(await active(scim)).toHaveLength(before)
  })
})
