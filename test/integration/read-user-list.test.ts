import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, call, newIntegration, USER_SCHEMA } from '../helpers/http'

/* GET /api/v1/users: filters and keyset paging. */

type Page = {
  status: number
  headers: Headers
  body: { data: { id: string; status: string; updatedAt: string }[]; nextCursor: string | null }
}
const list = (query: string, token: string): Promise<Page> => call('GET', `/api/v1/users?${query}`, { token }) as Promise<Page>

async function walk(query: string, token: string, limit: number) {
  const ids: string[] = []
  const rowsRead: number[] = []
  let cursor: string | null = null
  do {
    const page: Page = await list(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token)
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    expect(page.body.data.length).toBeLessThanOrEqual(limit)
    ids.push(...page.body.data.map((u) => u.id))
    rowsRead.push(Number(page.headers.get('x-d1-rows-read')))
    cursor = page.body.nextCursor
  } while (cursor)
  return { ids, rowsRead }
}

async function seed() {
  const key = (await admin('POST', '/api-keys', { name: `lister ${crypto.randomUUID()}`, scope: 'read' })).body.token as string
  const one = await newIntegration()
  const two = await newIntegration()
  const made: { id: string; integration: string; active: boolean }[] = []
  for (const [n, integration] of [
    [12, one],
    [8, two],
  ] as const)
    for (let i = 0; i < n; i++) {
      const active = i % 4 !== 0
      const res = await integration.scim.post('/Users', { schemas: [USER_SCHEMA], userName: `u${i}-${crypto.randomUUID()}`, active })
      made.push({ id: res.body.id, integration: integration.id, active })
    }
  return { key, one, two, made }
}

describe('GET /api/v1/users', () => {
  it('lists active users by default, each exactly once across pages, in id order, at a page of rows each', async () => {
    const { key, made } = await seed()
    const { ids, rowsRead } = await walk('', key, 5)
    // Across integrations: whatever else this file's D1 holds, every active user once, by id.
    const { results } = await env.DB.prepare('SELECT id FROM users WHERE active = 1 ORDER BY id').all<{ id: string }>()
    expect(ids).toEqual(results.map((r) => r.id))
    for (const u of made) expect(ids.includes(u.id)).toBe(u.active)
    // A page of 5 views: the users, their integration and device seeks, and the key check; never the whole table.
    for (const r of rowsRead) expect(r).toBeLessThan(40)
  })

  it('filters by integration and status, and all means both', async () => {
    const { key, one, made } = await seed()
    const archivedOfOne = made.filter((u) => u.integration === one.id && !u.active).map((u) => u.id)
    expect((await walk(`integrationId=${one.id}&status=archived`, key, 2)).ids).toEqual(archivedOfOne.sort())
    const allOfOne = made.filter((u) => u.integration === one.id).map((u) => u.id)
    expect((await walk(`integrationId=${one.id}&status=all`, key, 5)).ids).toEqual(allOfOne.sort())
    const page = await list(`integrationId=${one.id}&status=archived`, key)
    for (const u of page.body.data) expect(u.status).toBe('archived')
  })

  it('walks what changed since a time, in order of change, so a syncing client misses nothing', async () => {
    const { key, one, made } = await seed()
    const since = new Date().toISOString()
    const touched = made.filter((u) => u.integration === one.id).slice(0, 6)
    // Both statuses, interleaved in order of change: the listing merges their two index ranges.
    expect(new Set(touched.map((u) => u.active))).toEqual(new Set([true, false]))
    for (const u of [...touched].reverse())
      await one.scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'displayName', value: 'changed' }])
    const { ids, rowsRead } = await walk(`updatedSince=${encodeURIComponent(since)}&status=all`, key, 4)
    expect(ids).toEqual(touched.map((u) => u.id).reverse())
    // A page from each status range and the view's seeks, never the users of other pages.
    for (const r of rowsRead) expect(r).toBeLessThan(40)
  })

  it('names the bad parameter with a 400', async () => {
    const { key } = await seed()
    for (const [query, name] of [
      ['status=deleted', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['updatedSince=yesterday', 'updatedSince'],
      ['cursor=garbage', 'cursor'],
      ['q=', 'q'],
      ['groupId=', 'groupId'],
    ]) {
      const res = await list(query!, key)
      expect(res.status, query).toBe(400)
      expect(JSON.stringify(res.body), query).toContain(name!)
    }
    // A cursor from a listing by id does not continue a listing by change.
    const first = await list('limit=1', key)
    const mixed = await list(`updatedSince=2020-01-01T00:00:00Z&cursor=${encodeURIComponent(first.body.nextCursor!)}`, key)
    expect(mixed.status).toBe(400)
  })
})
