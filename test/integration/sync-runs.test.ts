import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { byUserName, connectTenant } from '../helpers/graph-tenant'
import { admin, ERROR_SCHEMA, type Json } from '../helpers/http'
import { fakeGraph, runSync, safeguardOff, usersDeltaLink, waitForRun } from '../helpers/sync'

/*
 * Controlling native runs: cancelling one (it stops at the next step boundary and archives nobody
 * after a cancelled listing), and the run history.
 */

describe('cancelling a run', () => {
  it('stops a full listing at the next page: what it wrote stays, nobody it did not list is archived, the delta link stays', async () => {
    const { tenant, id, scim } = await connectTenant({ pageSize: 2 })
    const users = Array.from({ length: 6 }, (_, i) => ({ id: `k${i}`, userPrincipalName: `k${i}@cancel.example`, displayName: `K ${i}` }))
    await fakeGraph(tenant, { action: 'upsertUsers', users })
    await safeguardOff(id)
    await runSync(id, 'succeeded')
    const link = await usersDeltaLink(id)

    // The next run lists everything again, renames the first page's k0, and no longer sees k5.
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ ...users[0], displayName: 'K zero' }] })
    await fakeGraph(tenant, { action: 'deleteUser', id: 'k5', how: 'hard' })
    await fakeGraph(tenant, { action: 'expireDeltaTokens' })
    // Page 2 fails until the Workflow retries its step, which leaves time to cancel.
    await fakeGraph(tenant, { action: 'fail', path: 'skiptoken', status: 503, times: 6 })
    const started = await admin('POST', `/integrations/${id}/sync`)
    expect(started.status).toBe(202)
    const cancel = await admin('POST', `/integrations/${id}/syncs/${started.body.runId}/cancel`)
    expect(cancel.status).toBe(202)
    expect(cancel.body).toMatchObject({ runId: started.body.runId, status: 'running', cancelRequestedAt: expect.any(String) })

    const run = await waitForRun(id, started.body.runId)
    expect(run).toMatchObject({ status: 'cancelled', error: null, counts: { usersArchived: 0, usersRemoved: 0 } })
    expect(run.progress.pages).toBeGreaterThanOrEqual(1)
    expect(run.progress.pages).toBeLessThan(3)
    const stored = await byUserName(scim)
    expect(stored['k0@cancel.example'].displayName).toBe('K zero')
    expect(stored['k5@cancel.example']).toMatchObject({ active: true })
    expect(await usersDeltaLink(id)).toBe(link)

    // Over: a second cancel has nothing to stop, and the schedule goes on.
    const again = await admin('POST', `/integrations/${id}/syncs/${started.body.runId}/cancel`)
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ schemas: [ERROR_SCHEMA], detail: expect.stringContaining('is cancelled, not running') })
    const next = await runSync(id, 'succeeded')
    expect(next.counts.usersArchived).toBe(1)
    expect((await byUserName(scim))['k5@cancel.example']).toMatchObject({ active: false })
  })

  it('refuses to cancel a held run (reject it) or an unknown one', async () => {
    const { tenant, id } = await connectTenant({ pageSize: 20 })
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: Array.from({ length: 4 }, (_, i) => ({ id: `h${i}`, userPrincipalName: `h${i}@cancel.example` })),
    })
    await runSync(id, 'succeeded')
    await fakeGraph(tenant, { action: 'deleteUser', id: 'h0', how: 'hard' })
    const held = await runSync(id, 'held')
    const res = await admin('POST', `/integrations/${id}/syncs/${held.runId}/cancel`)
    expect(res.status).toBe(409)
    expect(res.body.detail).toContain('reject it')
    expect((await admin('POST', `/integrations/${id}/syncs/nope/cancel`)).status).toBe(404)
  })
})

describe('run history', () => {
  it('pages the runs newest first and keeps the last 50', async () => {
    const { tenant, id } = await connectTenant()
    await fakeGraph(tenant, { action: 'upsertUsers', users: [{ id: 'r1', userPrincipalName: 'r1@history.example' }] })
    const ran = [await runSync(id, 'succeeded'), await runSync(id, 'succeeded'), await runSync(id, 'succeeded')]
    const first = await admin('GET', `/integrations/${id}/syncs?limit=2`)
    expect(first.status).toBe(200)
    expect(first.body.data.map((r: Json) => r.runId)).toEqual([ran[2]!.runId, ran[1]!.runId])
    expect(first.body.data[1]).toMatchObject({ status: 'succeeded', mode: 'delta', trigger: 'manual' })
    const second = await admin('GET', `/integrations/${id}/syncs?limit=2&cursor=${first.body.nextCursor}`)
    expect(second.body).toEqual({ data: [expect.objectContaining({ runId: ran[0]!.runId, mode: 'full' })], nextCursor: null })

    const bad = await admin('GET', `/integrations/${id}/syncs?limit=51`)
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ schemas: [ERROR_SCHEMA], detail: expect.stringContaining('at most 50') })
    expect((await admin('GET', '/integrations/nope/syncs')).status).toBe(404)

    // 60 older runs on record: starting one more keeps the newest 50, this one among them.
    const insert = env.DB.prepare(
      "INSERT INTO sync_runs (id, integration_id, trigger, status, started_at, finished_at) VALUES (?, ?, 'cron', 'succeeded', ?, ?)"
    )
    await env.DB.batch(
      Array.from({ length: 60 }, (_, i) => {
        const at = new Date(Date.now() - (i + 1) * 86_400_000).toISOString()
        return insert.bind(`old-${id}-${i}`, id, at, at)
      })
    )
    const latest = await runSync(id, 'succeeded')
    const all = await admin('GET', `/integrations/${id}/syncs?limit=50`)
    expect(all.body.data).toHaveLength(50)
    expect(all.body.data[0].runId).toBe(latest.runId)
    expect(all.body.nextCursor).toBeNull()
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM sync_runs WHERE integration_id = ?').bind(id).first<Json>())!
    expect(n).toBe(50)
  })
})

describe('the kind of a failed run', () => {
  it('marks runs that failed before migration 0034 by their words: a refused credential, not an outage', async () => {
    const backfill = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0034_'))!.queries[1]!
    const run = (id: string, error: string) =>
      env.DB.prepare(
        `INSERT INTO sync_runs (id, integration_id, trigger, status, started_at, error) VALUES (?, 'old-integration', 'cron', 'failed', '2026-01-01T00:00:00.000Z', ?)`
      ).bind(id, error)
    await env.DB.batch([
      run('pre0034-refused', 'Microsoft sign-in refused the app (AADSTS7000215): invalid client secret.'),
      run('pre0034-revoked', "Google refused the admin's authorisation (invalid_grant). Re-authenticate the integration (/connect)."),
      run('pre0034-outage', 'Microsoft Graph is unavailable (503). Gave up after 5 attempts.'),
    ])
    await env.DB.prepare(backfill).run()
    const kinds = await env.DB.prepare(`SELECT id, error_kind AS kind FROM sync_runs WHERE id LIKE 'pre0034-%' ORDER BY id`).all()
    expect(kinds.results).toEqual([
      { id: 'pre0034-outage', kind: null },
      { id: 'pre0034-refused', kind: 'auth' },
      { id: 'pre0034-revoked', kind: 'auth' },
    ])
  })
})
