import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { pruneEvents } from '../../src/directory/events'
import { admin, call, ERROR_SCHEMA, GROUP_SCHEMA, newIntegration, userBody, type Json } from '../helpers/http'
import { connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { runSync } from '../helpers/sync'

/*
 * The change feed: every change writes its event in the same transaction (the outbox triggers), in
 * commit order, whichever path made it; the feed pages by cursor, filters, and says 410 once a cursor
 * is older than retention.
 */

const readKey = async () => (await admin('POST', '/api-keys', { name: `feed ${crypto.randomUUID()}`, scope: 'read' })).body.token as string
const writeKey = async () =>
  (await admin('POST', '/api-keys', { name: `feed ${crypto.randomUUID()}`, scope: 'write' })).body.token as string
const api = (method: string, path: string, token: string) => call(method, `/api/v1${path}`, { token })

/** Every event of one integration, paging with `limit`. */
async function allEvents(key: string, integrationId: string, limit = 100, extra = ''): Promise<Json[]> {
  const out: Json[] = []
  let after = '0'
  for (;;) {
    const page = await api('GET', `/events?integrationId=${integrationId}&limit=${limit}&after=${after}${extra}`, key)
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    out.push(...page.body.data)
    after = page.body.nextCursor
    if (!page.body.hasMore) return out
  }
}

describe('GET /api/v1/events', () => {
  it('has one event per change, in commit order, with the resource as the read API shows it; no-ops write none', async () => {
    const key = await readKey()
    const write = await writeKey()
    const { id, scim } = await newIntegration()
    const ada = (await scim.post('/Users', userBody(`ada-${crypto.randomUUID()}`, { title: 'Engineer' }))).body
    const bob = (await scim.post('/Users', userBody(`bob-${crypto.randomUUID()}`))).body
    // The same document again: nothing changes, nothing is written to the feed.
    await scim.put(`/Users/${ada.id}`, userBody(ada.userName, { title: 'Engineer' }))
    await scim.patch(`/Users/${ada.id}`, [{ op: 'replace', path: 'title', value: 'Lead' }])
    const group = (await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Team', members: [{ value: ada.id }] })).body
    await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: bob.id }, { value: ada.id }] }])
    // A replace that keeps ada and bob is no change to the membership.
    await scim.patch(`/Groups/${group.id}`, [{ op: 'replace', path: 'members', value: [{ value: ada.id }, { value: bob.id }] }])
    await scim.patch(`/Groups/${group.id}`, [{ op: 'remove', path: `members[value eq "${bob.id}"]` }])
    await scim.patch(`/Groups/${group.id}`, [{ op: 'replace', path: 'displayName', value: 'Team 2' }])
    await scim.patch(`/Users/${bob.id}`, [{ op: 'replace', path: 'active', value: false }])
    await scim.patch(`/Users/${bob.id}`, [{ op: 'replace', path: 'active', value: true }])
    await call('PUT', `/api/v1/users/${ada.id}/devices/d-${ada.id}`, { token: write })
    await call('PUT', `/api/v1/users/${bob.id}/devices/d-${ada.id}`, { token: write })
    await call('DELETE', `/api/v1/users/${bob.id}/devices/d-${ada.id}`, { token: write })
    await scim.delete(`/Users/${bob.id}`)
    await scim.delete(`/Groups/${group.id}`)

    const events = await allEvents(key, id, 3)
    expect(events.map((e) => e.type)).toEqual([
      'integration.created',
      'user.created',
      'user.created',
      'user.updated',
      'group.created',
      'group.member_added',
      'group.member_added',
      'group.member_removed',
      'group.updated',
      'user.archived',
      'user.restored',
      'device.assigned',
      'device.unassigned',
      'device.assigned',
      'device.unassigned',
      'user.deleted',
      'group.deleted',
    ])
    const ids = events.map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(ids.length)
    expect(events.every((e) => e.integrationId === id && !Number.isNaN(Date.parse(e.occurredAt)))).toBe(true)
    expect(events[3].data).toMatchObject({ id: ada.id, title: 'Lead', status: 'active', integration: { id } })
    expect(events[5].data).toEqual({ groupId: group.id, userId: ada.id })
    expect(events[7].data).toEqual({ groupId: group.id, userId: bob.id })
    expect(events[8].data).toMatchObject({ id: group.id, displayName: 'Team 2', memberCount: 1 })
    expect(events[9].data).toMatchObject({ id: bob.id, status: 'archived' })
    expect(events[9].data.archivedAt).not.toBeNull()
    expect(events[13].data).toMatchObject({ id: `d-${ada.id}`, userId: bob.id })
    // The user as it was when removed; its memberships went with it (no member_removed for them).
    expect(events[15].data).toMatchObject({ id: bob.id, userName: bob.userName })
  })

  it('gives the same events from the same cursor, and pages that add up to the whole feed', async () => {
    const key = await readKey()
    const { id, scim } = await newIntegration()
    for (let i = 0; i < 7; i++) await scim.post('/Users', userBody(`p${i}-${crypto.randomUUID()}`))
    const whole = await allEvents(key, id, 500)
    const paged = await allEvents(key, id, 2)
    expect(paged).toEqual(whole)
    expect(whole).toHaveLength(8)
    const from = whole[2].id
    const first = await api('GET', `/events?integrationId=${id}&after=${from}&limit=3`, key)
    const again = await api('GET', `/events?integrationId=${id}&after=${from}&limit=3`, key)
    expect(again.body).toEqual(first.body)
    expect(first.body.data.map((e: Json) => e.id)).toEqual(whole.slice(3, 6).map((e) => e.id))
  })

  it('filters by type, reading a bounded window of ids per page and moving the cursor past what it read', async () => {
    const key = await readKey()
    const { id, scim } = await newIntegration()
    const u = (await scim.post('/Users', userBody(`t-${crypto.randomUUID()}`))).body
    await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'x' }])
    await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'active', value: false }])
    const archived = await allEvents(key, id, 10, '&types=user.archived,user.deleted')
    expect(archived.map((e) => e.type)).toEqual(['user.archived'])
    // Without an integration filter the window applies to the whole feed: the cursor still ends at its head.
    const latest = (await api('GET', '/events?after=latest', key)).body
    expect(latest).toEqual({ data: [], nextCursor: expect.stringMatching(/^\d+$/), hasMore: false })
    const page = (await api('GET', `/events?types=integration.created&after=${Number(latest.nextCursor) - 3}`, key)).body
    expect(page.nextCursor).toBe(latest.nextCursor)
    expect(page.hasMore).toBe(false)
  })

  it('has the events of native imports and their runs, with the imported users as the read API shows them', async () => {
    const key = await readKey()
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    await runSync(id, 'succeeded')
    const events = await allEvents(key, id)
    const types = events.map((e) => e.type)
    expect(types.filter((t) => t === 'user.created')).toHaveLength(5)
    expect(types.filter((t) => t === 'group.created')).toHaveLength(3)
    expect(types.filter((t) => t === 'group.member_added').length).toBeGreaterThan(0)
    expect(types[types.length - 1]).toBe('sync.completed')
    expect(events[events.length - 1].data).toMatchObject({ integrationId: id, status: 'succeeded', usersCreated: 5 })
    // Replaying the feed gives the directory's state: each user's last event equals its view now.
    const last = new Map<string, Json>()
    for (const e of events) if (e.type.startsWith('user.')) last.set(e.data.id, e.data)
    const listed = await api('GET', `/users?integrationId=${id}&status=all`, key)
    expect(listed.body.data.length).toBe(last.size)
    for (const view of listed.body.data) expect(last.get(view.id)).toEqual(view)
  })

  it('answers 410 for a cursor older than retention, and 400 naming a bad parameter', async () => {
    const key = await readKey()
    const { id } = await newIntegration()
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString()
    await env.DB.prepare(`UPDATE events SET occurred_at = ? WHERE integration_id = ?`).bind(old, id).run()
    const [row] = (await env.DB.prepare('SELECT id FROM events WHERE integration_id = ?').bind(id).all<{ id: number }>()).results
    // Everything up to this integration's event is older than 30 days once its time is.
    await env.DB.prepare('UPDATE events SET occurred_at = ? WHERE id <= ?').bind(old, row!.id).run()
    // A recent change after it: the prune always keeps the newest event (ids continue from it).
    await newIntegration()
    expect(await pruneEvents(env.DB, 30)).toBeGreaterThan(0)
    const stale = await api('GET', `/events?after=${row!.id - 1}`, key)
    expect(stale.status).toBe(410)
    expect(stale.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '410' })
    expect(stale.body.detail).toContain('after=latest')
    expect((await api('GET', `/events?after=${row!.id}`, key)).status).toBe(200)
    // From the start: what is left, never a 410.
    expect((await api('GET', '/events', key)).status).toBe(200)
    // Everything old, the newest included: the newest stays, so the next id cannot repeat a pruned one.
    const newest = await env.DB.prepare('SELECT max(id) AS id FROM events').first<{ id: number }>()
    await env.DB.prepare('UPDATE events SET occurred_at = ?').bind(old).run()
    await pruneEvents(env.DB, 30)
    expect(await env.DB.prepare('SELECT id FROM events').all()).toMatchObject({ results: [{ id: newest!.id }] })
    expect((await api('GET', `/events?after=${newest!.id - 1}`, key)).body.data.map((e: Json) => Number(e.id))).toEqual([newest!.id])
    const { id: next } = await newIntegration()
    const after = (await api('GET', `/events?after=${newest!.id}`, key)).body.data
    expect(after.map((e: Json) => [Number(e.id), e.integrationId])).toEqual([[newest!.id + 1, next]])

    for (const [query, name] of [
      ['after=abc', 'after'],
      ['types=user.exploded', 'types'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
    ]) {
      const bad = await api('GET', `/events?${query}`, key)
      expect(bad.status, query).toBe(400)
      expect(bad.body.detail, query).toContain(name)
    }
    expect((await call('GET', '/api/v1/events')).status).toBe(401)
  })
})
