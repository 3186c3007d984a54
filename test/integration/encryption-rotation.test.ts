import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { open } from '../../src/auth/seal'
import { admin, ADMIN_TOKEN, ERROR_SCHEMA, ORIGIN, type Json } from '../helpers/http'
import { connectTenant } from '../helpers/graph-tenant'

/*
 * Rotating ENCRYPTION_KEY (SECURITY.md): the new key becomes ENCRYPTION_KEY, the old one
 * ENCRYPTION_KEY_PREVIOUS; secrets sealed under the old key keep working, POST
 * /api/v1/encryption/reseal (or the cron) moves them over, and then the old key can go.
 */

const NEW_KEY = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
const rotating = { ...env, ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY }
const rotated = { ...env, ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_KEY_PREVIOUS: undefined }

async function adminAs(keys: Env, method: string, path: string, body?: unknown) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`${ORIGIN}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : null,
    }),
    keys,
    ctx
  )
  await waitOnExecutionContext(ctx)
  return { status: res.status, body: (await res.json()) as Json }
}

const sealedRows = async () => ({
  integrations: (await env.DB.prepare('SELECT id, sealed_secrets AS sealed FROM integrations WHERE sealed_secrets IS NOT NULL').all<Json>())
    .results,
  webhooks: (await env.DB.prepare('SELECT id, sealed_secret AS sealed FROM webhooks').all<Json>()).results,
})

describe('rotating ENCRYPTION_KEY', () => {
  it('keeps sealed secrets readable under the previous key, reseals them all, and then needs only the new key', async () => {
    const entra = await connectTenant()
    const hook = await admin('POST', '/webhooks', { url: 'https://hooks.fake.test/rotation', events: ['*'] })
    expect(hook.status).toBe(201)
    const before = await sealedRows()
    expect(before.integrations.length).toBeGreaterThanOrEqual(1)
    expect(before.webhooks).toHaveLength(1)

    // Only the new key: what the old one sealed does not open, and the error says what to set.
    const lost = await adminAs(rotated, 'POST', `/webhooks/${hook.body.id}/test`)
    expect(lost.status).toBe(500)
    expect(lost.body.schemas).toEqual([ERROR_SCHEMA])
    expect(lost.body.detail).toContain('ENCRYPTION_KEY_PREVIOUS')

    // Both keys: the old secrets work (a test delivery signs with the webhook's secret) …
    expect((await adminAs(rotating, 'POST', `/webhooks/${hook.body.id}/test`)).body.delivered).toBe(true)
    // … and the reseal moves every one of them, once.
    const total = before.integrations.length + before.webhooks.length
    expect((await adminAs(rotating, 'POST', '/encryption/reseal')).body).toEqual({
      resealed: total,
      current: 0,
      previous: 0,
      unreadable: [],
    })
    expect((await adminAs(rotating, 'POST', '/encryption/reseal')).body).toEqual({
      resealed: 0,
      current: total,
      previous: 0,
      unreadable: [],
    })

    // Now every stored secret opens with the new key alone, and none with the old one.
    const after = await sealedRows()
    for (const [rows, context] of [
      [after.integrations, 'integration'],
      [after.webhooks, 'webhook'],
    ] as const)
      for (const row of rows) {
        expect(await open({ ENCRYPTION_KEY: NEW_KEY }, row.sealed, `${context}:${row.id}`)).toBeTruthy()
        await expect(open(env, row.sealed, `${context}:${row.id}`)).rejects.toThrow()
      }
    expect((await adminAs(rotated, 'POST', `/webhooks/${hook.body.id}/test`)).body.delivered).toBe(true)
    const credentials = JSON.parse(
      await open({ ENCRYPTION_KEY: NEW_KEY }, after.integrations.find((r) => r.id === entra.id).sealed, `integration:${entra.id}`)
    )
    expect(credentials.clientSecret).toBe('app-secret')
    // Paused, so the cron ticks below start no run of it (their Workflow would hold the test's old key).
    expect((await admin('PATCH', `/integrations/${entra.id}`, { paused: true })).status).toBe(200)
  })

  it('reports a secret that opens with neither key instead of failing the reseal', async () => {
    const hook = await admin('POST', '/webhooks', { url: 'https://hooks.fake.test/unreadable', events: ['*'] })
    const stranger = { ...env, ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_KEY_PREVIOUS: btoa(String.fromCharCode(...new Uint8Array(32))) }
    const report = (await adminAs(stranger, 'POST', '/encryption/reseal')).body
    expect(report.unreadable).toContainEqual({ owner: 'webhook', id: hook.body.id })
    expect(report.resealed).toBe(0)
  })

  it('is done by the cron while ENCRYPTION_KEY_PREVIOUS is set, and left alone without it', async () => {
    const hook = await admin('POST', '/webhooks', { url: 'https://hooks.fake.test/cron', events: ['*'] })
    const sealed = async () =>
      (await env.DB.prepare('SELECT sealed_secret AS sealed FROM webhooks WHERE id = ?').bind(hook.body.id).first<Json>())!.sealed as string
    const tick = async (keys: Env) => {
      const ctx = createExecutionContext()
      await worker.scheduled({ scheduledTime: Date.now(), cron: '0 */4 * * *', noRetry: () => {} }, keys, ctx)
      await waitOnExecutionContext(ctx)
    }
    const before = await sealed()
    await tick({ ...env, ENCRYPTION_KEY_PREVIOUS: undefined })
    expect(await sealed()).toBe(before)
    await tick(rotating)
    const after = await sealed()
    expect(after).not.toBe(before)
    expect(await open({ ENCRYPTION_KEY: NEW_KEY }, after, `webhook:${hook.body.id}`)).toMatch(/^whsec_/)
  })

  it('says which key is malformed instead of calling every secret unreadable', async () => {
    // A secret under the test's key, which only ENCRYPTION_KEY_PREVIOUS could open.
    expect((await admin('POST', '/webhooks', { url: 'https://hooks.fake.test/malformed', events: ['*'] })).status).toBe(201)
    const res = await adminAs({ ...env, ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_KEY_PREVIOUS: 'not base64!' }, 'POST', '/encryption/reseal')
    expect(res.status).toBe(500)
    expect(res.body.detail).toContain('ENCRYPTION_KEY_PREVIOUS is not base64')
  })

  it('is the admin token’s alone', async () => {
    const res = await worker.fetch(new Request(`${ORIGIN}/api/v1/encryption/reseal`, { method: 'POST' }), env, createExecutionContext())
    expect(res.status).toBe(401)
  })
})
