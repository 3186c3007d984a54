import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { connectCustomer } from '../helpers/google-customer'
import { connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { admin, ERROR_SCHEMA, type Json } from '../helpers/http'
import { fakeGraph, runSync, usersDeltaLink, waitForRun } from '../helpers/sync'

/*
 * Dry runs ("preview before the first import") and the report every run keeps: what the listing
 * found, by kind, with the first 100 users of each and why.
 */

async function dryRun(id: string): Promise<Json> {
  const started = await admin('POST', `/integrations/${id}/sync`, { dryRun: true })
  expect(started.status, JSON.stringify(started.body)).toBe(202)
  expect(started.body).toMatchObject({ status: 'running', dryRun: true })
  return waitForRun(id, started.body.runId)
}

/** Everything an integration's import can write, in a form that shows any change. */
async function directoryState(id: string) {
  const rows = async (query: string) => (await env.DB.prepare(query).bind(id).all()).results
  return {
    users: await rows('SELECT id, data, active, version FROM users WHERE integration_id = ? ORDER BY id'),
    emails: await rows('SELECT user_id, position, value_key FROM user_emails WHERE integration_id = ? ORDER BY user_id, position'),
    groups: await rows('SELECT id, data, version FROM groups WHERE integration_id = ? ORDER BY id'),
    members: await rows('SELECT group_id, member_id FROM group_members WHERE integration_id = ? ORDER BY group_id, member_id'),
    events: await rows('SELECT count(*) AS n FROM events WHERE integration_id = ?'),
    integration: await rows(
      'SELECT active_users, archived_users, group_count, users_delta_link, groups_delta_link FROM integrations WHERE id = ?'
    ),
  }
}

const names = (kind: Json) => (kind.users as Json[]).map((u) => u.userName).sort()

describe('dry runs', () => {
  it('previews the first import of a new integration: what it would create, with no directory row written', async () => {
    const { tenant, id } = await connectTenant({ pageSize: 2 })
    await seedDirectory(tenant)
    const before = await directoryState(id)

    const preview = await dryRun(id)
    expect(preview).toMatchObject({ status: 'succeeded', dryRun: true, mode: 'full', cost: { rowsWritten: 0 } })
    expect(preview.progress.pages).toBeGreaterThanOrEqual(3)
    expect(preview.report.created.count).toBe(5)
    expect(names(preview.report.created)).toEqual([
      'ada@contoso.com',
      'bob@contoso.com',
      'cy@contoso.com',
      'dee@contoso.com',
      'eve@contoso.com',
    ])
    expect(preview.report.created.users[0].reason).toBe('new in the source directory')
    expect(preview.report).toMatchObject({ archived: { count: 0 }, removed: { count: 0 }, wouldHold: null })
    expect(await directoryState(id)).toEqual(before)
    expect(await usersDeltaLink(id)).toBeNull()

    // The real import that follows does what the preview said, from the start of the listing.
    const real = await runSync(id, 'succeeded')
    expect(real).toMatchObject({ dryRun: false, mode: 'full', counts: { usersCreated: 5 } })
    expect(names(real.report.created)).toEqual(names(preview.report.created))
  })

  it('previews changes to an imported directory, says the safeguard would hold them, and moves no delta link', async () => {
    const { tenant, id } = await connectTenant({ pageSize: 20 })
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: [
        { id: 'u2', displayName: 'Bob B.' },
        { id: 'u3', accountEnabled: true },
        { id: 'u4', accountEnabled: false },
        { id: 'u6', userPrincipalName: 'fay@contoso.com' },
      ],
    })
    await fakeGraph(tenant, { action: 'deleteUser', id: 'u5', how: 'hard' })
    const before = await directoryState(id)

    const preview = await dryRun(id)
    expect(preview).toMatchObject({ status: 'succeeded', mode: 'delta', cost: { rowsWritten: 0 } })
    const { report } = preview
    expect(names(report.created)).toEqual(['fay@contoso.com'])
    expect(names(report.updated)).toEqual(['bob@contoso.com'])
    expect(report.restored.users).toEqual([{ sourceId: 'u3', userName: 'cy@contoso.com', reason: 'active again in the source directory' }])
    expect(report.archived.users).toEqual([{ sourceId: 'u4', userName: 'dee@contoso.com', reason: 'disabled in the source directory' }])
    expect(report.removed.users).toEqual([{ sourceId: 'u5', userName: 'eve@contoso.com', reason: 'deleted in the source directory' }])
    // 2 of the 6 active users there will be once fay and cy are written: more than the default 10 %.
    expect(report.wouldHold).toMatch(/would archive 1 and remove 1 of its 6 active users/)
    expect(await directoryState(id)).toEqual(before)

    // And so it is, for the real run: the same changes, read from the same delta position.
    const held = await runSync(id, 'held')
    expect(held.heldReason).toBe(report.wouldHold)
    expect(names(held.report.created)).toEqual(['fay@contoso.com'])
    expect(held.changes).toMatchObject({ usersArchived: 1, usersRemoved: 1 })
  })

  it('previews a Google directory without writing, and does not put off the next scheduled run', async () => {
    const { id } = await connectCustomer()
    const before = await directoryState(id)
    const preview = await dryRun(id)
    expect(preview).toMatchObject({ status: 'succeeded', cost: { rowsWritten: 0 } })
    expect(preview.report.created.count).toBe(4)
    expect(await directoryState(id)).toEqual(before)
    const { startDueRuns } = await import('../../src/sync/cron')
    const due = await startDueRuns(env)
    expect(due.started).toContain(id)
    const started = (await admin('GET', `/integrations/${id}/syncs?limit=1`)).body.data[0]
    expect(started).toMatchObject({ trigger: 'cron', dryRun: false })
    await waitForRun(id, started.runId)
  })

  it('refuses a dryRun that is not a boolean', async () => {
    const { id } = await connectTenant()
    const res = await admin('POST', `/integrations/${id}/sync`, { dryRun: 'yes' })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], detail: expect.stringContaining('dryRun') })
  })
})

describe('run reports', () => {
  it('names the first 100 users of each kind and counts them all', async () => {
    const { tenant, id } = await connectTenant({ pageSize: 100 })
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: Array.from({ length: 150 }, (_, i) => ({ id: `r${i}`, userPrincipalName: `r${String(i).padStart(3, '0')}@report.example` })),
    })
    const run = await runSync(id, 'succeeded')
    expect(run.report.created.count).toBe(150)
    expect(run.report.created.users).toHaveLength(100)
    expect(run.report.created.users[0]).toEqual({ sourceId: 'r0', userName: 'r000@report.example', reason: 'new in the source directory' })
    expect(run.durationMs).toBeGreaterThanOrEqual(0)
    const again = await runSync(id, 'succeeded')
    expect(again.report).toMatchObject({ created: { count: 0 }, updated: { count: 0 }, archived: { count: 0 } })
  })
})

describe('where userName comes from', () => {
  it('takes userName from mail when told to, skips a user without one with the reason, and re-lists on a change', async () => {
    const { tenant, id, scim } = await connectTenant({ pageSize: 20 })
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: [
        { id: 'm1', userPrincipalName: 'ann_contoso.com#EXT#@contoso.onmicrosoft.com', mail: 'ann@contoso.com' },
        { id: 'm2', userPrincipalName: 'ben@contoso.com', mail: 'benjamin@contoso.com' },
        { id: 'm3', userPrincipalName: 'kiosk@contoso.com' },
      ],
    })
    const patched = await admin('PATCH', `/integrations/${id}`, { userNameFrom: 'mail' })
    expect(patched.status).toBe(200)
    expect(patched.body.userNameFrom).toBe('mail')

    const run = await runSync(id, 'succeeded')
    expect(run.counts.usersCreated).toBe(2)
    expect(run.report.skipped.users).toEqual([
      {
        sourceId: 'm3',
        userName: 'kiosk@contoso.com',
        reason: expect.stringMatching(/^skipped: no mail in Entra .*kiosk@contoso.com is not imported until it has one$/),
      },
    ])
    const users = (await scim.get('/Users')).body.Resources as Json[]
    expect(users.map((u) => u.userName).sort()).toEqual(['ann@contoso.com', 'benjamin@contoso.com'])

    // A delta update that does not mention mail (a UPN change) leaves the user, and its userName, as they were.
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'm2', userPrincipalName: 'ben.b@contoso.com' }] })
    const delta = await runSync(id, 'succeeded')
    expect(delta).toMatchObject({ mode: 'delta', report: { skipped: { count: 0 } } })
    expect(((await scim.get('/Users')).body.Resources as Json[]).find((u) => u.externalId === 'm2')!.userName).toBe('benjamin@contoso.com')

    // Back to the UPN: the next run lists everyone again and renames them, keeping their ids.
    const ids = Object.fromEntries(users.map((u) => [u.externalId, u.id]))
    await admin('PATCH', `/integrations/${id}`, { userNameFrom: 'userPrincipalName' })
    expect(await usersDeltaLink(id)).toBeNull()
    const again = await runSync(id, 'succeeded')
    expect(again).toMatchObject({ mode: 'full', counts: { usersCreated: 1, usersUpdated: 2 } })
    const renamed = (await scim.get('/Users')).body.Resources as Json[]
    expect(Object.fromEntries(renamed.map((u) => [u.externalId, u.userName]))).toEqual({
      m1: 'ann_contoso.com#EXT#@contoso.onmicrosoft.com',
      m2: 'ben.b@contoso.com',
      m3: 'kiosk@contoso.com',
    })
    expect(renamed.find((u) => u.externalId === 'm2')!.id).toBe(ids.m2)
    // The same value again keeps the incremental position.
    await admin('PATCH', `/integrations/${id}`, { userNameFrom: 'userPrincipalName' })
    expect(await usersDeltaLink(id)).not.toBeNull()
  })

  it('is for Entra integrations only (the safeguard for native ones), and takes one of the two attributes', async () => {
    const scimOnly = await admin('POST', '/integrations', { kind: 'scim', name: `Attr ${Date.now()}` })
    const refused = await admin('PATCH', `/integrations/${scimOnly.body.id}`, { userNameFrom: 'mail' })
    expect(refused.status).toBe(400)
    expect(refused.body.detail).toContain('only Entra integrations')
    const safeguard = await admin('PATCH', `/integrations/${scimOnly.body.id}`, { safeguard: { percent: 5 } })
    expect(safeguard.status).toBe(400)
    expect(safeguard.body.detail).toMatch(/^safeguard: .* receives SCIM pushes/)
    const { id } = await connectTenant()
    const bad = await admin('PATCH', `/integrations/${id}`, { userNameFrom: 'employeeId' })
    expect(bad.status).toBe(400)
    expect(bad.body.detail).toContain('userNameFrom')
  })
})
