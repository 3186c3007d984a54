import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { admin, scimClient, type Json } from '../helpers/http'
import { byUserName, connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { fakeGraph, runSync, safeguardOff } from '../helpers/sync'

/*
 * Native Entra imports end to end: the admin API starts a run, the Workflow pages through the fake
 * Graph (test/fakes/graph.ts, reached through Miniflare's outboundService), and the result is read
 * back over SCIM with the integration's token.
 */

const membersOf = async (scim: ReturnType<typeof scimClient>, displayName: string) => {
  const g = (await scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`)).body.Resources[0]
  // An empty group has no "members" at all (RFC 7643 §2.5).
  return g ? ((g.members ?? []) as Json[]).map((m) => m.display).sort() : undefined
}

describe('Entra (Microsoft Graph) import', () => {
  it('imports every user and group on the first run, as the SCIM side would store them', async () => {
    const { tenant, id, scim } = await connectTenant()
    await seedDirectory(tenant)
    const run = await runSync(id, 'succeeded')
    // Three groups, each counted once though it was created and given members.
    expect(run).toMatchObject({
      mode: 'full',
      trigger: 'manual',
      counts: { usersCreated: 5, usersArchived: 0, groupsChanged: 3 },
      error: null,
    })
    // 5 users in pages of 2 (3 pages) and 3 groups (2 pages).
    expect(run.progress.pages).toBe(5)

    const users = await byUserName(scim)
    expect(Object.keys(users).sort()).toEqual([
      'ada@contoso.com',
      'bob@contoso.com',
      'cy@contoso.com',
      'dee@contoso.com',
      'eve@contoso.com',
    ])
    expect(users['ada@contoso.com']).toMatchObject({
      externalId: 'u1',
      active: true,
      displayName: 'Ada Lovelace',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ value: 'ada@contoso.com', type: 'work', primary: true }],
      title: 'Engineer',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    })
    expect(users['cy@contoso.com'].active).toBe(false)
    expect(await membersOf(scim, 'Engineering')).toEqual(['Ada Lovelace', 'Bob'])
    expect(await membersOf(scim, 'Everyone')).toEqual(['Ada Lovelace', 'Bob', 'Cy', 'Dee', 'Engineering', 'Eve'])
    expect(await membersOf(scim, 'Empty')).toEqual([])

    const details = await admin('GET', `/integrations/${id}`)
    expect(details.body).toMatchObject({
      kind: 'entra',
      connected: true,
      source: { tenantId: tenant, clientId: 'app-id' },
      counts: { activeUsers: 4, archivedUsers: 1, groups: 3 },
      lastSync: { status: 'succeeded', runId: run.runId },
      lastError: null,
    })
    expect(Date.parse(details.body.nextScheduledRun)).toBeGreaterThan(Date.now())
    expect(JSON.stringify(details.body)).not.toContain('app-secret')
    const stored = await env.DB.prepare('SELECT config, sealed_secrets FROM integrations WHERE id = ?').bind(id).first<Json>()
    expect(JSON.stringify(stored)).not.toContain('app-secret')
  })

  it('imports a large group split across pages, repeating the group object', async () => {
    const { tenant, id, scim } = await connectTenant({ pageSize: 3 })
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: Array.from({ length: 45 }, (_, i) => ({ id: `m${i}`, userPrincipalName: `m${i}@contoso.com` })),
    })
    await fakeGraph(tenant, {
      action: 'upsertGroups',
      groups: [{ id: 'big', displayName: 'Big', members: Array.from({ length: 45 }, (_, i) => `m${i}`) }],
    })
    await runSync(id, 'succeeded')
    expect(await membersOf(scim, 'Big')).toHaveLength(45)
  })

  it('merges partial delta items: an update of jobTitle alone, a cleared property, a membership-only group item', async () => {
    const { tenant, id, scim } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    const before = (await byUserName(scim))['ada@contoso.com']
    // Graph reports only what changed: {id, jobTitle}; {id, department: null}; {id, members@delta}.
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'u1', jobTitle: 'Director' }] })
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'u1', department: null }] })
    await fakeGraph(tenant, { action: 'upsertGroups', groups: [{ id: 'g-eng', displayName: 'Engineering', members: ['u1', 'u2', 'u4'] }] })
    const run = await runSync(id, 'succeeded')
    expect(run.mode).toBe('delta')

    const ada = (await byUserName(scim))['ada@contoso.com']
    expect(ada.title).toBe('Director')
    expect(ada['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toBeUndefined()
    // Everything the items did not carry is as it was.
    expect(ada).toMatchObject({ id: before.id, displayName: 'Ada Lovelace', name: before.name, emails: before.emails, active: true })
    // The group item carried no displayName: the group keeps its name, and gains the member.
    expect(await membersOf(scim, 'Engineering')).toEqual(['Ada Lovelace', 'Bob', 'Dee'])
    expect(await membersOf(scim, 'g-eng')).toBeUndefined()
  })

  it('applies an incremental run: adds, updates, disables, soft and hard deletes, membership changes', async () => {
    const { tenant, id, scim } = await connectTenant()
    await safeguardOff(id)
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: [
        { id: 'u6', userPrincipalName: 'fay@contoso.com', displayName: 'Fay' },
        { id: 'u2', userPrincipalName: 'bob@contoso.com', displayName: 'Bob', jobTitle: 'Manager' },
        { id: 'u4', userPrincipalName: 'dee@contoso.com', displayName: 'Dee', accountEnabled: false },
      ],
    })
    await fakeGraph(tenant, { action: 'deleteUser', id: 'u5', how: 'soft' })
    await fakeGraph(tenant, { action: 'deleteUser', id: 'u1', how: 'hard' })
    await fakeGraph(tenant, {
      action: 'upsertGroups',
      groups: [{ id: 'g-eng', displayName: 'Engineering & Science', members: ['u2', 'u6'] }],
    })
    await fakeGraph(tenant, { action: 'deleteGroup', id: 'g-empty' })

    const run = await runSync(id, 'succeeded')
    expect(run.mode).toBe('delta')
    expect(run.counts).toMatchObject({ usersCreated: 1, usersRemoved: 1 })
    expect(run.counts.usersArchived).toBe(2)

    const users = await byUserName(scim)
    expect(users['ada@contoso.com']).toBeUndefined()
    expect(users['bob@contoso.com'].title).toBe('Manager')
    expect(users['dee@contoso.com'].active).toBe(false)
    expect(users['eve@contoso.com'].active).toBe(false)
    expect(users['fay@contoso.com'].active).toBe(true)
    expect(await membersOf(scim, 'Engineering & Science')).toEqual(['Bob', 'Fay'])
    expect(await membersOf(scim, 'Empty')).toBeUndefined()
    expect((await scim.get(`/Users/${users['fay@contoso.com'].id}`)).body.groups.map((g: Json) => g.display)).toEqual([
      'Engineering & Science',
    ])
  })

  it('writes nothing on a re-run over an unchanged directory', async () => {
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    const before = await env.DB.prepare('SELECT sum(version) AS v, max(updated_at) AS t FROM users WHERE integration_id = ?')
      .bind(id)
      .first<Json>()
    const run = await runSync(id, 'succeeded')
    expect(run.counts).toEqual({ usersCreated: 0, usersUpdated: 0, usersArchived: 0, usersRemoved: 0, groupsChanged: 0 })
    expect(run.cost.rowsWritten).toBe(0)
    expect(
      await env.DB.prepare('SELECT sum(version) AS v, max(updated_at) AS t FROM users WHERE integration_id = ?').bind(id).first<Json>()
    ).toEqual(before)
  })

  it('rides out 429s with Retry-After and 503s on every page, and ends with the same directory', async () => {
    const { tenant, id, scim } = await connectTenant()
    await seedDirectory(tenant)
    await fakeGraph(tenant, { action: 'fail', path: 'users/delta', status: 429, retryAfter: 0, times: 6 })
    await fakeGraph(tenant, { action: 'fail', path: 'groups/delta', status: 503, times: 6 })
    await fakeGraph(tenant, { action: 'fail', path: 'skiptoken', status: 503, times: 3 })
    const run = await runSync(id, 'succeeded')
    expect(run.counts.usersCreated).toBe(5)
    expect(await membersOf(scim, 'Everyone')).toHaveLength(6)
    expect((await fakeGraph(tenant, { action: 'state' })).faultsLeft).toBe(0)
  })

  it('completes with nothing lost when every page fails once, on the first run and an incremental one', async () => {
    const { tenant, id, scim } = await connectTenant()
    await safeguardOff(id)
    await seedDirectory(tenant)
    await fakeGraph(tenant, { action: 'settings', chaos: { seed: 1, rate: 1, kinds: ['throttled', 'unavailable'] } })
    const first = await runSync(id, 'succeeded')
    expect(first.counts.usersCreated).toBe(5)
    expect(await membersOf(scim, 'Everyone')).toHaveLength(6)
    await fakeGraph(tenant, { action: 'deleteUser', id: 'u2', how: 'soft' })
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'u7', userPrincipalName: 'gil@contoso.com' }] })
    const second = await runSync(id, 'succeeded')
    expect(second.counts).toMatchObject({ usersCreated: 1, usersArchived: 1 })
    const state = await fakeGraph(tenant, { action: 'state' })
    // Every page request of both runs was refused once before it succeeded.
    expect(state.requests).toBeGreaterThanOrEqual(2 * (first.progress.pages + second.progress.pages))
    expect(Object.keys(await byUserName(scim)).sort()).toEqual([
      'ada@contoso.com',
      'bob@contoso.com',
      'cy@contoso.com',
      'dee@contoso.com',
      'eve@contoso.com',
      'gil@contoso.com',
    ])
  })

  it('fails a run that cannot finish, with the reason, and archives nothing it did not reach', async () => {
    const { tenant, id, scim } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    // The delta token expires (a full listing is needed), and every page after the first fails.
    await fakeGraph(tenant, { action: 'expireDeltaTokens' })
    await fakeGraph(tenant, { action: 'fail', path: 'skiptoken', status: 503, times: 1000 })
    const run = await runSync(id, 'failed')
    expect(run.error).toMatch(/Microsoft Graph is unavailable \(503\)/)
    // An outage is no failure of kind: the next run may well succeed.
    expect(run.errorKind).toBeNull()
    const users = await byUserName(scim)
    expect(Object.values(users).filter((u: Json) => u.active).length).toBe(4)
    const details = await admin('GET', `/integrations/${id}`)
    expect(details.body.lastError).toMatch(/unavailable/)
    expect(details.body.lastSync.status).toBe('failed')
  })

  it('starts over with a full listing when the delta token has expired, archiving who is gone', async () => {
    const { tenant, id, scim } = await connectTenant()
    await safeguardOff(id)
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    await fakeGraph(tenant, { action: 'deleteUser', id: 'u4', how: 'hard' })
    await fakeGraph(tenant, { action: 'expireDeltaTokens' })
    const run = await runSync(id, 'succeeded')
    expect(run.mode).toBe('full')
    const users = await byUserName(scim)
    expect(users['dee@contoso.com'].active).toBe(false)
    expect(users['ada@contoso.com'].active).toBe(true)
    expect(run.counts.usersArchived).toBe(1)
  })

  it('reports refused credentials in words, at once: a refusal is not retried', async () => {
    const { tenant, id } = await connectTenant({ secret: 'wrong-secret' })
    const run = await runSync(id, 'failed')
    expect(run.error).toMatch(/refused the app's credentials \(invalid_client\)/)
    expect(run.errorKind).toBe('auth')
    // One sign-in attempt: neither the client nor the Workflow's step retries asked again.
    expect((await fakeGraph(tenant, { action: 'state' })).tokenRequests).toBe(1)
  })

  it('counts a group whose members span several pages once', async () => {
    const { tenant, id, scim } = await connectTenant({ pageSize: 2 })
    const users = Array.from({ length: 25 }, (_, i) => ({ id: `m${i}`, userPrincipalName: `m${i}@span.example`, displayName: `M ${i}` }))
    await fakeGraph(tenant, { action: 'upsertUsers', users })
    await fakeGraph(tenant, { action: 'settings', membersPerPage: 5 })
    await fakeGraph(tenant, { action: 'upsertGroups', groups: [{ id: 'big', displayName: 'Spanning', members: users.map((u) => u.id) }] })
    const run = await runSync(id, 'succeeded')
    // Five items of five members each, two to a page: the group is on three pages.
    expect(await membersOf(scim, 'Spanning')).toHaveLength(25)
    expect(run.counts.groupsChanged).toBe(1)
  })

  it('runs one sync at a time per integration', async () => {
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    const first = await admin('POST', `/integrations/${id}/sync`)
    const second = await admin('POST', `/integrations/${id}/sync`)
    expect(first.status).toBe(202)
    expect(second.status).toBe(409)
    expect(second.body.detail).toContain(first.body.runId)
    // Let it finish so it does not outlive the test.
    for (let i = 0; i < 600 && (await admin('GET', `/integrations/${id}/syncs/${first.body.runId}`)).body.status === 'running'; i++)
      await new Promise((r) => setTimeout(r, 50))
  })

  it('refuses to sync a SCIM integration, and validates Entra credentials', async () => {
    const scimOnly = await admin('POST', '/integrations', { kind: 'scim', name: `push-${Date.now()}` })
    expect((await admin('POST', `/integrations/${scimOnly.body.id}/sync`)).status).toBe(400)
    const missing = await admin('POST', '/integrations', { kind: 'entra', name: 'no secret', tenantId: 't', clientId: 'c' })
    expect(missing.status).toBe(400)
    expect(missing.body.detail).toMatch(/^clientSecret:/)
    expect(
      (await admin('POST', '/integrations', { kind: 'google', name: `g ${Date.now()}`, adminEmail: 'a@b.example' })).body.detail
    ).toMatch(/^serviceAccount: give serviceAccount and adminEmail together/)
  })
})

describe('cron', () => {
  it('starts exactly the due runs: connected native integrations without a run in the last four hours', async () => {
    const due = await connectTenant()
    await seedDirectory(due.tenant)
    const recent = await connectTenant()
    await seedDirectory(recent.tenant)
    await runSync(recent.id, 'succeeded')
    await admin('POST', '/integrations', { kind: 'scim', name: `cron-scim-${Date.now()}` })

    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '0 */4 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)

    const runs = async (id: string) =>
      (await env.DB.prepare('SELECT trigger, status FROM sync_runs WHERE integration_id = ? ORDER BY started_at').bind(id).all<Json>())
        .results
    const dueRuns = await runs(due.id)
    expect(dueRuns.map((r) => r.trigger)).toEqual(['cron'])
    expect((await runs(recent.id)).map((r) => r.trigger)).toEqual(['manual'])
    const all = await env.DB.prepare("SELECT count(*) AS n FROM sync_runs WHERE trigger = 'cron'").first<Json>()
    expect(all.n).toBe(1)
    // Let the cron's run finish inside this test.
    for (let i = 0; i < 600 && (await runs(due.id))[0]!.status === 'running'; i++) await new Promise((r) => setTimeout(r, 50))
    expect((await runs(due.id))[0]!.status).toBe('succeeded')
  })
})

describe('native integrations over SCIM', () => {
  it('are read-only: the token reads the imported directory and cannot change it', async () => {
    const { tenant, id, scim } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    const list = await scim.get('/Users')
    expect(list.status).toBe(200)
    const someone = list.body.Resources.find((u: Json) => u.userName === 'ada@contoso.com')
    const group = (await scim.get('/Groups')).body.Resources[0]
    expect((await scim.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] })).status).toBe(200)
    for (const res of [
      await scim.post('/Users', { userName: 'intruder@contoso.com' }),
      await scim.patch(`/Users/${someone.id}`, [{ op: 'replace', path: 'active', value: false }]),
      // A PATCH that would change nothing is refused all the same.
      await scim.patch(`/Users/${someone.id}`, [{ op: 'replace', path: 'active', value: true }]),
      await scim.delete(`/Users/${someone.id}`),
      await scim.patch(`/Groups/${group.id}`, [{ op: 'remove', path: 'members' }]),
    ]) {
      expect(res.status).toBe(403)
      expect(res.body.detail).toMatch(/imports its directory/)
    }
    expect((await scim.get(`/Users/${someone.id}`)).body.active).toBe(someone.active)
  })
})

describe('resuming after a crash', () => {
  // Workflows resume a run at its first unfinished step; a crash after a page's D1 write but before
  // its step result is stored makes that page run again. This cannot kill the runtime from a test,
  // so it checks the property resumption depends on: replaying a page step changes nothing.
  it('replays a page step without duplicating or changing anything', async () => {
    const { graphUsersPage, graphGroupsPage, planGraphRun } = await import('../../src/sync/graph/import')
    const { tenant, id, scim } = await connectTenant({ pageSize: 50 })
    await seedDirectory(tenant)
    const runId = crypto.randomUUID()
    await env.DB.prepare("INSERT INTO sync_runs (id, integration_id, trigger, status, started_at) VALUES (?, ?, 'manual', 'running', ?)")
      .bind(runId, id, new Date().toISOString())
      .run()
    const run = { integrationId: id, runId }
    const plan = await planGraphRun(env, run)
    const first = await graphUsersPage(env, run, plan.users, true)
    const snapshot = async () =>
      (await env.DB.prepare('SELECT id, data, version FROM users WHERE integration_id = ? ORDER BY id').bind(id).all()).results
    const afterFirst = await snapshot()
    const again = await graphUsersPage(env, run, plan.users, true)
    if (first.expired || again.expired) throw new Error('a fresh delta listing cannot be expired')
    expect(again.next).toBe(first.next)
    expect(await snapshot()).toEqual(afterFirst)
    const groupsPage = await graphGroupsPage(env, run, plan.groups, true)
    await graphGroupsPage(env, run, plan.groups, true)
    if (groupsPage.expired) throw new Error('a fresh delta listing cannot be expired')
    expect(groupsPage.next ?? groupsPage.deltaLink).toBeTruthy()
    expect((await scim.get('/Users')).body.totalResults).toBe(5)
    const memberships = await env.DB.prepare('SELECT count(*) AS n FROM group_members WHERE integration_id = ?').bind(id).first<Json>()
    // 5 + 2 user memberships, plus Everyone ⊃ Engineering, which the replay could resolve (the first
    // pass created Engineering after Everyone had named it). No membership twice.
    expect(memberships.n).toBe(8)
  })
})
