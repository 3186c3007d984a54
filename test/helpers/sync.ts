import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import { admin, type Json } from './http'

/* Driving native imports from tests: the fakes' set-up endpoints, and a sync run to its end. */

const control = async (url: string, body: Record<string, unknown>): Promise<Json> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`fake: ${res.status} ${await res.text()}`)
  return res.json()
}

/** Sets up the fake Microsoft cloud (test/fakes/graph.ts) for one tenant. */
export const fakeGraph = (tenant: string, body: Record<string, unknown>) => control(`https://graph.fake.test/_fake/${tenant}`, body)

/** Sets up the fake Google (test/fakes/google.ts) for one customer. */
export const fakeGoogle = (customer: string, body: Record<string, unknown>) =>
  control(`https://admin.fake.test/_fake-google/${customer}`, body)

/** "Sync users now", then the run's record once it has finished; asserts its status when given. */
export async function runSync(integrationId: string, expected?: 'succeeded' | 'failed' | 'held'): Promise<Json> {
  const started = await admin('POST', `/integrations/${integrationId}/sync`)
  expect(started.status, JSON.stringify(started.body)).toBe(202)
  const deadline = Date.now() + 30_000
  for (;;) {
    const run = await admin('GET', `/integrations/${integrationId}/syncs/${started.body.runId}`)
    if (run.body.status !== 'running') {
      if (expected) expect(run.body.status, JSON.stringify(run.body)).toBe(expected)
      return run.body
    }
    if (Date.now() > deadline) throw new Error(`run still running: ${JSON.stringify(run.body)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Turns the import safeguard off: for tests of what a run archives or removes in a directory so
 * small that one departure is more than its default 10 % (the safeguard's own tests keep it on).
 */
export async function safeguardOff(integrationId: string) {
  const res = await admin('PATCH', `/integrations/${integrationId}`, { safeguard: { percent: 0, maxUsers: 0 } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
}

/** Waits for a run started elsewhere (approved, cancelled) to leave `running`; returns its record. */
export async function waitForRun(integrationId: string, runId: string): Promise<Json> {
  for (let i = 0; i < 600; i++) {
    const run = (await admin('GET', `/integrations/${integrationId}/syncs/${runId}`)).body
    if (run.status !== 'running') return run
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('run did not finish')
}

/** Where the integration's next users listing starts (null: a full listing). */
export const usersDeltaLink = async (integrationId: string) =>
  (await env.DB.prepare('SELECT users_delta_link AS link FROM integrations WHERE id = ?').bind(integrationId).first<Json>())!.link
