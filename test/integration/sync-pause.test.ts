import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { startDueRuns } from '../../src/sync/cron'
import { connectTenant } from '../helpers/graph-tenant'
import { admin, ERROR_SCHEMA, newIntegration } from '../helpers/http'
import { fakeGraph, runSync, waitForRun } from '../helpers/sync'

/** The cron tick five hours on; whatever it starts for other tests' integrations ends before this test does. */
async function tickLater() {
  const result = await startDueRuns(env, Date.now() + 5 * 60 * 60 * 1000)
  for (const id of result.started) {
    const last = (await admin('GET', `/integrations/${id}`)).body.lastSync
    await waitForRun(id, last.runId)
  }
  return result
}

describe('pausing the schedule', () => {
  it('stops the cron, not "Sync users now", and resuming starts the schedule again, keeping every user', async () => {
    const t = await connectTenant()
    await fakeGraph(t.tenant, { action: 'upsertUsers', users: [{ id: 'p1', userPrincipalName: 'ada@pause.example' }] })
    await runSync(t.id, 'succeeded')
    const before = await env.DB.prepare('SELECT id FROM users WHERE integration_id = ?').bind(t.id).first<{ id: string }>()

    const paused = await admin('PATCH', `/integrations/${t.id}`, { paused: true })
    expect(paused.status).toBe(200)
    expect(paused.body).toMatchObject({ paused: true, nextScheduledRun: null })
    const since = paused.body.pausedAt
    expect(Date.parse(since)).not.toBeNaN()
    // Pausing again keeps when it was first paused.
    expect((await admin('PATCH', `/integrations/${t.id}`, { paused: true })).body.pausedAt).toBe(since)

    const tick = await tickLater()
    expect(tick.skipped).toContain(t.id)
    expect(tick.started).not.toContain(t.id)

    // An admin's own run still goes.
    await fakeGraph(t.tenant, { action: 'upsertUsers', users: [{ id: 'p2', userPrincipalName: 'grace@pause.example' }] })
    expect(await runSync(t.id, 'succeeded')).toMatchObject({ counts: { usersCreated: 1 } })

    const resumed = await admin('PATCH', `/integrations/${t.id}`, { paused: false })
    expect(resumed.body).toMatchObject({ paused: false, pausedAt: null })
    expect(resumed.body.nextScheduledRun).not.toBeNull()
    expect((await tickLater()).started).toContain(t.id)
    const after = await env.DB.prepare('SELECT id FROM users WHERE integration_id = ? AND id = ?').bind(t.id, before!.id).first()
    expect(after).toEqual({ id: before!.id })
  })

  it('is refused on a SCIM integration, saying why, and must be a boolean', async () => {
    const { id } = await newIntegration()
    const scim = await admin('PATCH', `/integrations/${id}`, { paused: true })
    expect(scim.status).toBe(400)
    expect(scim.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidValue' })
    expect(scim.body.detail).toContain('schedule')
    const t = await connectTenant()
    const wrong = await admin('PATCH', `/integrations/${t.id}`, { paused: 'yes' })
    expect(wrong.status).toBe(400)
    expect(wrong.body.detail).toContain('paused')
  })
})
