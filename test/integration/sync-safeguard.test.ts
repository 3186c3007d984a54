import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { startDueRuns } from '../../src/sync/cron'
import { connectTenant } from '../helpers/graph-tenant'
import { admin, ERROR_SCHEMA, type Json } from '../helpers/http'
import { fakeGraph, runSync, usersDeltaLink, waitForRun } from '../helpers/sync'

/*
 * The import safeguard: a run that would archive or remove more than an integration allows (by
 * default more than 10 % of its active users or 500, whichever is smaller) writes what archives
 * nobody, then waits as `held` for an admin to approve or reject it.
 */

const TENANT_USERS = 40

/** An Entra integration whose first run imported 40 users. */
async function importedTenant() {
  const t = await connectTenant({ pageSize: 20 })
  await fakeGraph(t.tenant, {
    action: 'upsertUsers',
    users: Array.from({ length: TENANT_USERS }, (_, i) => ({
      id: `s${i}`,
      userPrincipalName: `user${i}@safe.example`,
      displayName: `User ${i}`,
    })),
  })
  expect(await runSync(t.id, 'succeeded')).toMatchObject({ counts: { usersCreated: TENANT_USERS } })
  return t
}

/** A permission change: the app now reads only 2 of the 40 users (5 %), and Graph asks for a full listing. */
async function losePermission(tenant: string) {
  await fakeGraph(tenant, { action: 'settings', visibleUsers: 2 })
  await fakeGraph(tenant, { action: 'expireDeltaTokens' })
}

const activeCount = async (id: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM users WHERE integration_id = ? AND active = 1').bind(id).first<Json>()).n
describe('import safeguard', () => {
  it('holds a run that would archive 95 % of the tenant, archives nobody, and blocks the schedule and manual runs', async () => {
    const { tenant, id } = await importedTenant()
    await losePermission(tenant)
    const linkBefore = await usersDeltaLink(id)
    const held = await runSync(id, 'held')
    expect(held.heldReason).toMatch(/would archive 38 and remove 0 of its 40 active users, more than the import safeguard allows/)
    expect(held.changes).toMatchObject({ usersArchived: 38, usersRemoved: 0 })
    expect(held.changes.users).toHaveLength(38)
    expect(held.changes.users[0]).toMatchObject({ action: 'archive', userName: expect.stringMatching(/@safe\.example$/) })
    expect(held.changes.users[0].reason).toMatch(/no longer in the source directory/)
    expect(held.counts.usersArchived).toBe(0)
    expect(await activeCount(id)).toBe(TENANT_USERS)
    expect(await usersDeltaLink(id)).toBe(linkBefore)

    const details = (await admin('GET', `/integrations/${id}`)).body
    expect(details.held).toEqual({ runId: held.runId, reason: held.heldReason })
    expect(details.nextScheduledRun).toBeNull()

    const manual = await admin('POST', `/integrations/${id}/sync`)
    expect(manual.status).toBe(409)
    expect(manual.body.schemas).toEqual([ERROR_SCHEMA])
    expect(manual.body.detail).toContain(`${held.runId}/approve`)

    // The cron, five hours on, starts nothing for it.
    const { started, skipped } = await startDueRuns(env, Date.now() + 5 * 60 * 60 * 1000)
    expect(started).not.toContain(id)
    expect(skipped).toContain(id)
    expect((await admin('GET', `/integrations/${id}`)).body.lastSync.runId).toBe(held.runId)
    // Whatever else it started (other tests' integrations) ends before this test does.
    for (const other of started) {
      const last = (await admin('GET', `/integrations/${other}`)).body.lastSync
      await waitForRun(other, last.runId)
    }
  })

  it('applies exactly the held changes once approved, and saves the run’s delta position', async () => {
    const { tenant, id } = await importedTenant()
    await losePermission(tenant)
    const held = await runSync(id, 'held')
    const approved = await admin('POST', `/integrations/${id}/syncs/${held.runId}/approve`)
    expect(approved.status).toBe(202)
    const syncEvents = async () =>
      (
        await env.DB.prepare("SELECT type, json_extract(data, '$.id') AS run FROM events WHERE integration_id = ? AND type LIKE 'sync.%'")
          .bind(id)
          .all<Json>()
      ).results.filter((e) => e.run === held.runId)
    const done = await waitForRun(id, held.runId)
    expect(done).toMatchObject({ status: 'succeeded', counts: { usersArchived: 38 } })
    // Held, it was no failure; approved, it completed: one event, sync.completed.
    expect(await syncEvents()).toEqual([{ type: 'sync.completed', run: held.runId }])
    expect(await activeCount(id)).toBe(2)
    const archived = await env.DB.prepare('SELECT external_id AS e FROM users WHERE integration_id = ? AND active = 1 ORDER BY e')
      .bind(id)
      .all<Json>()
    expect(archived.results.map((r) => r.e)).toEqual(['s0', 's1'])
    // The delta position the held listing reached is saved, as a run that had not been held would.
    const kept = await env.DB.prepare('SELECT held_links AS links FROM sync_runs WHERE id = ?').bind(held.runId).first<Json>()
    expect(JSON.parse(kept.links).usersDeltaLink).toBeTruthy()
    expect(await usersDeltaLink(id)).toBe(JSON.parse(kept.links).usersDeltaLink)
    // Decided once: a second approval, or a rejection, finds nothing held.
    const again = await admin('POST', `/integrations/${id}/syncs/${held.runId}/approve`)
    expect(again.status).toBe(409)
    expect(again.body.detail).toMatch(/is succeeded, not held/)
    expect(await runSync(id, 'succeeded')).toMatchObject({ counts: { usersArchived: 0 } })
  })

  it('discards the held changes when rejected, and the next run reads them again', async () => {
    const { tenant, id } = await importedTenant()
    await losePermission(tenant)
    const linkBefore = await usersDeltaLink(id)
    const held = await runSync(id, 'held')
    const rejected = await admin('POST', `/integrations/${id}/syncs/${held.runId}/reject`)
    expect(rejected.status).toBe(200)
    expect((await admin('GET', `/integrations/${id}/syncs/${held.runId}`)).body.status).toBe('rejected')
    expect(await activeCount(id)).toBe(TENANT_USERS)
    expect(await usersDeltaLink(id)).toBe(linkBefore)
    // Nothing changed at the source: the next run sees the same and holds again.
    expect((await runSync(id, 'held')).changes.usersArchived).toBe(38)
    await admin('POST', `/integrations/${id}/syncs/${(await admin('GET', `/integrations/${id}`)).body.held.runId}/reject`)
    // The permission is fixed: the next run lists everyone and archives nobody.
    await fakeGraph(tenant, { action: 'settings', visibleUsers: null })
    expect(await runSync(id, 'succeeded')).toMatchObject({ mode: 'full', counts: { usersArchived: 0 } })
    expect(await activeCount(id)).toBe(TENANT_USERS)
  })

  it('refuses an approval when a held user has changed since, saying to re-run', async () => {
    const { tenant, id } = await importedTenant()
    await losePermission(tenant)
    const held = await runSync(id, 'held')
    await env.DB.prepare('UPDATE users SET version = version + 1 WHERE id = ?').bind(held.changes.users[5].id).run()
    const res = await admin('POST', `/integrations/${id}/syncs/${held.runId}/approve`)
    expect(res.status).toBe(409)
    expect(res.body.detail).toMatch(/has changed since run .* was held.*reject it and run a new sync/)
    expect((await admin('GET', `/integrations/${id}/syncs/${held.runId}`)).body.status).toBe('held')
    expect(await activeCount(id)).toBe(TENANT_USERS)
  })

  it('counts deletions and disablings in a delta against the limit, which PATCH sets (0 turns a limit off)', async () => {
    const { tenant, id } = await importedTenant()
    // 3 of 40 is 7.5 %: under the share, so only the count limit of 2 can hold it.
    const set = await admin('PATCH', `/integrations/${id}`, { safeguard: { maxUsers: 2 } })
    expect(set.status).toBe(200)
    expect(set.body.safeguard).toEqual({ percent: 10, maxUsers: 2, holdNextRemovals: false })
    await fakeGraph(tenant, { action: 'deleteUser', id: 's3', how: 'hard' })
    await fakeGraph(tenant, { action: 'deleteUser', id: 's4', how: 'soft' })
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 's5', accountEnabled: false }] })
    const held = await runSync(id, 'held')
    expect(held.heldReason).toMatch(
      /archive 2 and remove 1 of its 40 active users.*\(10 % of the active users or 2 users, whichever is smaller\)/
    )
    expect(Object.fromEntries(held.changes.users.map((u: Json) => [u.userName, `${u.action}: ${u.reason}`]))).toEqual({
      'user3@safe.example': 'remove: deleted in the source directory',
      'user4@safe.example': 'archive: deleted in the source directory (restorable there)',
      'user5@safe.example': 'archive: disabled in the source directory',
    })
    expect(await activeCount(id)).toBe(TENANT_USERS)
    await admin('POST', `/integrations/${id}/syncs/${held.runId}/reject`)

    // With both limits off the same changes go through.
    expect((await admin('PATCH', `/integrations/${id}`, { safeguard: { percent: 0, maxUsers: 0 } })).status).toBe(200)
    expect(await runSync(id, 'succeeded')).toMatchObject({ counts: { usersArchived: 2, usersRemoved: 1 } })
    expect(await activeCount(id)).toBe(TENANT_USERS - 3)
  })

  it('validates PATCH: limits are whole numbers in range, names stay unique', async () => {
    const { id } = await connectTenant()
    const other = await connectTenant()
    const bad = await admin('PATCH', `/integrations/${id}`, { safeguard: { percent: 150 } })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidValue' })
    expect(bad.body.detail).toMatch(/safeguard\.percent: must be at most 100/)
    expect((await admin('PATCH', `/integrations/${id}`, { safeguard: { maxUsers: 1.5 } })).body.detail).toMatch(/whole number/)
    expect((await admin('PATCH', `/integrations/${id}`, {})).status).toBe(400)
    const taken = await admin('PATCH', `/integrations/${id}`, { name: `ENTRA ${other.tenant.toUpperCase()}` })
    expect(taken.status).toBe(409)
    expect(taken.body.scimType).toBe('uniqueness')
    const renamed = await admin('PATCH', `/integrations/${id}`, { name: 'Renamed directory' })
    expect(renamed.body).toMatchObject({ id, name: 'Renamed directory' })
    expect((await admin('PATCH', '/integrations/nope', { name: 'x' })).status).toBe(404)
  })
})
