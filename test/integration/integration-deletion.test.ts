import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, call, GROUP_SCHEMA, newIntegration, userBody, type Json, type ScimClient } from '../helpers/http'
import { connectCustomer } from '../helpers/google-customer'
import { connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { runSync } from '../helpers/sync'

/*
 * DELETE /api/v1/integrations/:id: users with a device stay (archived, detached), the rest of the
 * integration goes, its token is dead at once, nothing of another integration is touched, and a
 * large one is finished in bounded steps by a Workflow (DELETE_STEP_USERS is 40 under test).
 */

const writeKey = async () => (await admin('POST', '/api-keys', { name: `del ${crypto.randomUUID()}`, scope: 'write' })).body.token as string
const api = (method: string, path: string, token: string) => call(method, `/api/v1${path}`, { token })

async function users(scim: ScimClient, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, j) => scim.post('/Users', userBody(`${prefix}-${i + j}@example.com`)))
    )
    ids.push(...batch.map((r) => r.body.id as string))
  }
  return ids
}

async function eventsOf(integrationId: string, key: string): Promise<Json[]> {
  const out: Json[] = []
  let after = '0'
  for (;;) {
    const page = (await api('GET', `/events?integrationId=${integrationId}&limit=500&after=${after}`, key)).body
    out.push(...page.data)
    after = page.nextCursor
    if (!page.hasMore) return out
  }
}

const count = async (sql: string, ...binds: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...binds)
    .first<{ n: number }>())!.n

describe('deleting an integration', () => {
  it('removes users without devices, keeps those with one detached, and touches no other integration', async () => {
    const key = await writeKey()
    const doomed = await newIntegration(`Doomed ${crypto.randomUUID()}`)
    const other = await newIntegration()
    const [keep, drop] = await users(doomed.scim, 2, `d-${crypto.randomUUID()}`)
    const [bystander] = await users(other.scim, 1, `o-${crypto.randomUUID()}`)
    const group = (
      await doomed.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'G', members: [{ value: keep }, { value: drop }] })
    ).body
    await api('PUT', `/users/${keep}/devices/dev-${keep}`, key)
    await api('PUT', `/users/${bystander}/devices/dev-${bystander}`, key)
    const before = (await api('GET', `/users/${keep}`, key)).body

    const res = await admin('DELETE', `/integrations/${doomed.id}`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toEqual({ id: doomed.id, status: 'deleted', removedUsers: 1, keptUsers: 1, removedGroups: 1 })

    expect((await doomed.scim.get('/Users')).status).toBe(401)
    expect((await admin('GET', `/integrations/${doomed.id}`)).status).toBe(404)
    expect((await api('GET', `/users/${drop}`, key)).status).toBe(404)
    const kept = (await api('GET', `/users/${keep}`, key)).body
    expect(kept).toMatchObject({
      id: keep,
      userName: before.userName,
      status: 'archived',
      integration: null,
      detachedFrom: { id: doomed.id, name: expect.stringMatching(/^Doomed /) },
      devices: [{ id: `dev-${keep}`, name: null, assignedAt: expect.any(String) }],
    })
    expect((await api('GET', `/users/${keep}/groups`, key)).body.data).toEqual([])
    expect((await api('GET', `/devices/dev-${keep}`, key)).body.userId).toBe(keep)
    expect((await api('GET', `/groups/${group.id}`, key)).status).toBe(404)
    expect(await count('SELECT count(*) AS n FROM group_members WHERE group_id = ?', group.id)).toBe(0)
    expect(await count('SELECT count(*) AS n FROM user_emails WHERE integration_id = ?', doomed.id)).toBe(0)

    // The other integration is as it was.
    expect((await other.scim.get(`/Users/${bystander}`)).status).toBe(200)
    expect((await api('GET', `/users/${bystander}`, key)).body.devices).toHaveLength(1)

    // The feed: the removal and the detachment, the group, then the integration; no member events
    // (the deletions imply them).
    const types = (await eventsOf(doomed.id, key)).map((e) => e.type)
    const tail = types.slice(types.indexOf('device.assigned') + 1)
    expect(tail.sort()).toEqual(['group.deleted', 'integration.deleted', 'user.deleted', 'user.detached'].sort())
    expect(types[types.length - 1]).toBe('integration.deleted')
  })

  it('does a large one in bounded steps through a Workflow, showing its progress until it is gone', async () => {
    const key = await writeKey()
    const big = await newIntegration()
    const ids = await users(big.scim, 260, `big-${crypto.randomUUID()}`)
    const withDevice = ids.filter((_, i) => i % 50 === 0)
    for (const id of withDevice) await api('PUT', `/users/${id}/devices/dev-${id}`, key)
    await big.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'All', members: ids.map((value) => ({ value })) })

    const res = await admin('DELETE', `/integrations/${big.id}`)
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    expect(res.body).toMatchObject({ id: big.id, status: 'deleting', progress: { startedAt: expect.any(String) } })
    expect(res.body.progress.removedUsers + res.body.progress.keptUsers).toBeLessThan(ids.length)
    expect((await big.scim.get('/Users')).status).toBe(401)

    const deadline = Date.now() + 30_000
    let seen: Json
    for (;;) {
      const got = await admin('GET', `/integrations/${big.id}`)
      if (got.status === 404) break
      expect(got.body).toMatchObject({ status: 'deleting' })
      seen = got.body
      if (Date.now() > deadline) throw new Error(`still deleting: ${JSON.stringify(seen)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(await count('SELECT count(*) AS n FROM users WHERE integration_id = ? AND detached_from IS NULL', big.id)).toBe(0)
    expect(await count('SELECT count(*) AS n FROM users WHERE integration_id = ? AND detached_from IS NOT NULL', big.id)).toBe(
      withDevice.length
    )
    const last = (await eventsOf(big.id, key)).pop()
    expect(last).toMatchObject({
      type: 'integration.deleted',
      data: { removedUsers: ids.length - withDevice.length, keptUsers: withDevice.length },
    })
  })

  it('deletes a native integration and its runs, and its import writes nothing more', async () => {
    const key = await writeKey()
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    const first = (await api('GET', `/users?integrationId=${id}&status=all`, key)).body.data[0]
    await api('PUT', `/users/${first.id}/devices/dev-${first.id}`, key)
    const res = await admin('DELETE', `/integrations/${id}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ keptUsers: 1, removedUsers: 4, removedGroups: 3 })
    expect(await count('SELECT count(*) AS n FROM sync_runs WHERE integration_id = ?', id)).toBe(0)
    expect((await admin('POST', `/integrations/${id}/sync`)).status).toBe(404)
    expect((await api('GET', `/users/${first.id}`, key)).body).toMatchObject({ integration: null, detachedFrom: { id } })
  })

  it('deletes a Google integration the same way, its sealed service-account key with it', async () => {
    const key = await writeKey()
    const { id } = await connectCustomer()
    await runSync(id, 'succeeded')
    expect(await count('SELECT count(*) AS n FROM integrations WHERE id = ? AND sealed_secrets IS NOT NULL', id)).toBe(1)
    const listed = (await api('GET', `/users?integrationId=${id}&status=all`, key)).body.data as Json[]
    const kept = listed.find((u) => u.userName === 'ada@acme.example')!
    await api('PUT', `/users/${kept.id}/devices/dev-${kept.id}`, key)
    const res = await admin('DELETE', `/integrations/${id}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ keptUsers: 1, removedUsers: listed.length - 1, removedGroups: 2 })
    expect(await count('SELECT count(*) AS n FROM integrations WHERE id = ?', id)).toBe(0)
    expect((await api('GET', `/users/${kept.id}`, key)).body).toMatchObject({ status: 'archived', integration: null, detachedFrom: { id } })
  })

  it('closes an integration being deleted to every change: token, sync, SCIM writes', async () => {
    const { id, token } = await newIntegration()
    // Marked as a deletion in progress would leave it (the Workflow may finish too fast to catch).
    await env.DB.prepare(`UPDATE integrations SET deleting_at = ?, deletion = ? WHERE id = ?`)
      .bind(
        new Date().toISOString(),
        JSON.stringify({ startedAt: new Date().toISOString(), removedUsers: 0, keptUsers: 0, removedGroups: 0, after: '' }),
        id
      )
      .run()
    const rotate = await admin('POST', `/integrations/${id}/token`)
    expect(rotate.status).toBe(409)
    expect(rotate.body.detail).toContain('being deleted')
    expect((await admin('GET', `/integrations/${id}`)).body).toMatchObject({ status: 'deleting', progress: { removedUsers: 0 } })
    expect((await call('POST', '/scim/v2/Users', { token, body: userBody('late@example.com') })).status).toBe(409)
  })

  it('answers 404 for an unknown integration', async () => {
    expect((await admin('DELETE', `/integrations/${crypto.randomUUID()}`)).status).toBe(404)
  })
})
