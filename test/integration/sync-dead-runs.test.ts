import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createDb } from '../../src/directory/db'
import { failDeadRun, finishRun, getRun } from '../../src/directory/runs'
import { checkRunning } from '../../src/sync/runs'
import worker from '../../src/index'
import { byUserName, connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { admin, type Json } from '../helpers/http'
import { fakeGraph, runSync } from '../helpers/sync'

/*
 * A Workflow that dies without recording it (a deploy, an exhausted retry, an evicted instance)
 * must not block an integration's imports: the next start ends the run and goes on. In a file of
 * its own, since the cron here starts runs for every due integration in the database.
 */

describe('dead runs', () => {
  it('ends a run whose Workflow instance was terminated behind its back, and starts the next one', async () => {
    const { tenant, id, scim } = await connectTenant()
    await seedDirectory(tenant)
    // Slow the run down (the first page fails until the Workflow retries it), then kill its instance.
    await fakeGraph(tenant, { action: 'fail', path: 'users/delta', status: 503, times: 6 })
    const started = await admin('POST', `/integrations/${id}/sync`)
    expect(started.status).toBe(202)
    const instance = await env.SYNC.get(started.body.runId)
    await instance.terminate()
    expect((await admin('GET', `/integrations/${id}/syncs/${started.body.runId}`)).body.status).toBe('running')

    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '0 */4 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)

    const dead = (await admin('GET', `/integrations/${id}/syncs/${started.body.runId}`)).body
    expect(dead.status).toBe('failed')
    expect(dead.error).toMatch(/Workflow instance is terminated/)
    const { results } = await env.DB.prepare('SELECT id, trigger, status FROM sync_runs WHERE integration_id = ? ORDER BY started_at')
      .bind(id)
      .all<Json>()
    expect(results.map((r) => r.trigger)).toEqual(['manual', 'cron'])
    for (
      let i = 0;
      i < 600 &&
      (await env.DB.prepare('SELECT status FROM sync_runs WHERE id = ?').bind(results[1]!.id).first<Json>())!.status === 'running';
      i++
    )
      await new Promise((r) => setTimeout(r, 50))
    expect((await env.DB.prepare('SELECT status FROM sync_runs WHERE id = ?').bind(results[1]!.id).first<Json>())!.status).toBe('succeeded')
    expect(Object.keys(await byUserName(scim))).toHaveLength(5)
  })

  it('ends a run that recorded no progress for an hour, whatever its instance says, when a sync is asked for', async () => {
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString()
    const ghost = crypto.randomUUID()
    await env.DB.prepare(
      "INSERT INTO sync_runs (id, integration_id, trigger, status, started_at, progress_at) VALUES (?, ?, 'cron', 'running', ?, ?)"
    )
      .bind(ghost, id, old, old)
      .run()
    await runSync(id, 'succeeded')
    const ended = (await admin('GET', `/integrations/${id}/syncs/${ghost}`)).body
    expect(ended.status).toBe('failed')
    expect(ended.error).toMatch(/stopped without finishing/)
  })

  it('keeps a run ended as dead failed when its lost Workflow finishes late, and moves no delta link', async () => {
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    const before = await env.DB.prepare('SELECT users_delta_link AS link FROM integrations WHERE id = ?').bind(id).first<Json>()
    const db = createDb(env.DB)
    const late = crypto.randomUUID()
    await env.DB.prepare("INSERT INTO sync_runs (id, integration_id, trigger, status, started_at) VALUES (?, ?, 'cron', 'running', ?)")
      .bind(late, id, new Date().toISOString())
      .run()
    expect(await failDeadRun(db, late, 'lost')).toBe(true)
    await finishRun(db, late, {
      integrationId: id,
      usersDeltaLink: 'https://graph.fake.test/late',
      groupsDeltaLink: 'https://graph.fake.test/late',
    })
    expect((await admin('GET', `/integrations/${id}/syncs/${late}`)).body).toMatchObject({ status: 'failed', error: 'lost' })
    const after = await env.DB.prepare('SELECT users_delta_link AS link FROM integrations WHERE id = ?').bind(id).first<Json>()
    expect(after!.link).toBe(before!.link)
  })

  it.each([
    // [instance status, recorded progress minutes ago, still going, terminated]
    ['running', 5, true, false],
    ['unknown', 5, true, false],
    ['running', 120, false, true],
    ['unknown', 120, false, true],
    ['errored', 5, false, false],
    ['complete', 5, false, false],
  ] as const)('judges a %s instance with progress %i minutes ago: going %s, terminated %s', async (status, minutes, going, terminated) => {
    const { id } = await connectTenant()
    const db = createDb(env.DB)
    const runId = crypto.randomUUID()
    const at = new Date(Date.now() - minutes * 60_000).toISOString()
    await env.DB.prepare(
      "INSERT INTO sync_runs (id, integration_id, trigger, status, started_at, progress_at) VALUES (?, ?, 'cron', 'running', ?, ?)"
    )
      .bind(runId, id, at, at)
      .run()
    let terminatedIt = false
    const workflow = {
      get: async () => ({ status: async () => ({ status }), terminate: async () => void (terminatedIt = true) }),
    } as unknown as Workflow
    const run = (await getRun(db, id, runId))!
    expect(await checkRunning(db, workflow, run)).toBe(going)
    expect(terminatedIt).toBe(terminated)
    expect((await getRun(db, id, runId))!.status).toBe(going ? 'running' : 'failed')
  })
})
