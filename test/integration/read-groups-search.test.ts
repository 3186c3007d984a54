import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, call, ERROR_SCHEMA, GROUP_SCHEMA, newIntegration, USER_SCHEMA, type ScimClient } from '../helpers/http'

/* GET /api/v1/groups, /groups/:id, /groups/:id/members, and the groupId and q filters of /users. */

interface Page<T> {
  status: number
  body: { data: T[]; nextCursor: string | null; detail?: string; schemas?: string[] }
}
type Row = { id: string; [k: string]: unknown }

const get = <T = Row>(path: string, token: string) => call('GET', `/api/v1${path}`, { token }) as Promise<Page<T>>

async function walk<T extends Row = Row>(path: string, token: string, limit = 2): Promise<T[]> {
  const seen: T[] = []
  let cursor: string | null = null
  const join = path.includes('?') ? '&' : '?'
  do {
    const page: Page<T> = await get<T>(`${path}${join}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token)
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    expect(page.body.data.length).toBeLessThanOrEqual(limit)
    seen.push(...page.body.data)
    cursor = page.body.nextCursor
  } while (cursor)
  return seen
}

const readKey = async () =>
  (await admin('POST', '/api-keys', { name: `reader ${crypto.randomUUID()}`, scope: 'read' })).body.token as string

async function user(scim: ScimClient, userName: string, extra: Record<string, unknown> = {}) {
  const res = await scim.post('/Users', { schemas: [USER_SCHEMA], userName, ...extra })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.id as string
}

async function group(scim: ScimClient, displayName: string, members: string[] = []) {
  const res = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName, members: members.map((value) => ({ value })) })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.id as string
}

describe('GET /api/v1/groups', () => {
  it('lists groups with their member counts, by integration, each once across pages', async () => {
    const key = await readKey()
    const one = await newIntegration()
    const two = await newIntegration()
    const a = await user(one.scim, `a-${crypto.randomUUID()}`)
    const b = await user(one.scim, `b-${crypto.randomUUID()}`)
    const made = [await group(one.scim, 'Engineering', [a, b]), await group(one.scim, 'Sales', [a]), await group(one.scim, 'Empty')]
    await group(two.scim, 'Engineering')

    const mine = await walk<Row & { memberCount: number; displayName: string; integration: { id: string } }>(
      `/groups?integrationId=${one.id}`,
      key
    )
    expect(mine.map((g) => g.id)).toEqual([...made].sort())
    expect(Object.fromEntries(mine.map((g) => [g.displayName, g.memberCount]))).toEqual({ Engineering: 2, Sales: 1, Empty: 0 })
    for (const g of mine) expect(g.integration.id).toBe(one.id)

    const all = (await walk('/groups', key, 50)).map((g) => g.id)
    const { results } = await env.DB.prepare('SELECT id FROM groups ORDER BY id').all<{ id: string }>()
    expect(all).toEqual(results.map((r) => r.id))
  })

  it('shows one group with its count as memberships change; 404 for an unknown id', async () => {
    const key = await readKey()
    const { scim } = await newIntegration()
    const a = await user(scim, `c-${crypto.randomUUID()}`)
    const id = await group(scim, 'Ops')
    expect((await get(`/groups/${id}`, key)).body).toMatchObject({ id, displayName: 'Ops', memberCount: 0, externalId: null })
    await scim.patch(`/Groups/${id}`, [{ op: 'add', path: 'members', value: [{ value: a }] }])
    expect((await get(`/groups/${id}`, key)).body).toMatchObject({ memberCount: 1 })
    const missing = await get(`/groups/${crypto.randomUUID()}`, key)
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' })
  })

  it('finds groups by a case-insensitive prefix of displayName, and by time of change', async () => {
    const key = await readKey()
    const { id: integrationId, scim } = await newIntegration()
    const eng = await group(scim, 'Ärzte Engineering')
    const ops = await group(scim, 'ärztliche Ops')
    await group(scim, 'Marketing')
    const found = await walk(`/groups?integrationId=${integrationId}&q=${encodeURIComponent('ÄRZ')}`, key, 1)
    expect(found.map((g) => g.id).sort()).toEqual([eng, ops].sort())

    const before = new Date().toISOString()
    await scim.patch(`/Groups/${ops}`, [{ op: 'replace', path: 'displayName', value: 'Ärztliche Ops' }])
    const changed = await walk(`/groups?integrationId=${integrationId}&updatedSince=${before}`, key)
    expect(changed.map((g) => g.id)).toEqual([ops])
  })

  it('names the bad parameter', async () => {
    const key = await readKey()
    for (const [query, name] of [
      ['limit=0', 'limit'],
      ['updatedSince=yesterday', 'updatedSince'],
      ['q=', 'q'],
      ['q=a&updatedSince=2026-01-01T00:00:00Z', 'updatedSince'],
      ['cursor=nonsense', 'cursor'],
    ]) {
      const res = await get(`/groups?${query}`, key)
      expect(res.status, query).toBe(400)
      expect(res.body.detail, query).toContain(name)
    }
    // A cursor of one listing is refused by another rather than misread.
    const { scim } = await newIntegration()
    await group(scim, `x1-${crypto.randomUUID()}`)
    await group(scim, `x2-${crypto.randomUUID()}`)
    const first = await get('/groups?limit=1', key)
    const res = await get(`/groups?q=x&cursor=${first.body.nextCursor}`, key)
    expect(res.status).toBe(400)
    expect(res.body.detail).toContain('cursor')
  })
})

describe('GET /api/v1/groups/:id/members and /users?groupId=', () => {
  it("pages a group's user members, any status unless asked; groupId on /users is active by default", async () => {
    const key = await readKey()
    const { scim } = await newIntegration()
    const members = [
      await user(scim, `m1-${crypto.randomUUID()}`),
      await user(scim, `m2-${crypto.randomUUID()}`),
      await user(scim, `m3-${crypto.randomUUID()}`, { active: false }),
    ]
    await user(scim, `outsider-${crypto.randomUUID()}`)
    const inner = await group(scim, 'Inner', [members[0]!])
    const id = await group(scim, 'Outer', [...members, inner])

    const all = await walk<Row & { userName: string }>(`/groups/${id}/members`, key, 1)
    // Users only: the nested group is not a user.
    expect(all.map((u) => u.id)).toEqual([...members].sort())
    expect(all.every((u) => typeof u.userName === 'string')).toBe(true)
    expect((await walk(`/groups/${id}/members?status=archived`, key)).map((u) => u.id)).toEqual([members[2]])
    expect((await walk(`/users?groupId=${id}`, key)).map((u) => u.id)).toEqual(members.slice(0, 2).sort())

    expect((await get(`/groups/${crypto.randomUUID()}/members`, key)).status).toBe(404)
    const bad = await get(`/groups/${id}/members?status=gone`, key)
    expect(bad.status).toBe(400)
    expect(bad.body.detail).toContain('status')
  })
})

describe('GET /api/v1/users?q=', () => {
  it('matches a case-insensitive prefix of userName, any email, displayName, given or family name, each user once', async () => {
    const key = await readKey()
    const { id: integrationId, scim } = await newIntegration()
    const tag = crypto.randomUUID().slice(0, 8)
    const byUserName = await user(scim, `zoe.${tag}@example.com`)
    const byEmail = await user(scim, `u1-${tag}`, { emails: [{ value: `Zoe.Work.${tag}@example.com`, type: 'work' }] })
    const byDisplay = await user(scim, `u2-${tag}`, { displayName: `Zoë ${tag}` })
    // Given and family name both match: listed once.
    const byNames = await user(scim, `u3-${tag}`, { name: { givenName: `Zoe${tag}a`, familyName: `zoe${tag}b` } })
    await user(scim, `u4-${tag}`, { displayName: 'Someone else' })

    const ids = (q: string) => walk(`/users?integrationId=${integrationId}&status=all&q=${encodeURIComponent(q)}`, key, 1)
    expect((await ids(`ZOE.${tag}`)).map((u) => u.id)).toEqual([byUserName])
    expect((await ids(`zoe.work.${tag}`)).map((u) => u.id)).toEqual([byEmail])
    expect((await ids(`ZOË ${tag}`)).map((u) => u.id)).toEqual([byDisplay])
    expect((await ids(`zoe${tag}`)).map((u) => u.id)).toEqual([byNames])
    const zoes = (await ids('zo')).map((u) => u.id)
    expect([...zoes].sort()).toEqual([byUserName, byEmail, byDisplay, byNames].sort())
    expect(new Set(zoes).size).toBe(zoes.length)
  })

  it('follows renames and removals, and narrows by integration and status', async () => {
    const key = await readKey()
    const one = await newIntegration()
    const two = await newIntegration()
    const tag = crypto.randomUUID().slice(0, 8)
    const mine = await user(one.scim, `yan-${tag}`)
    const theirs = await user(two.scim, `yan-${tag}`)
    const q = (query: string) => walk(`/users?q=${encodeURIComponent(`yan-${tag}`)}&${query}`, key)

    expect((await q('status=all')).map((u) => u.id).sort()).toEqual([mine, theirs].sort())
    expect((await q(`integrationId=${one.id}`)).map((u) => u.id)).toEqual([mine])

    await one.scim.patch(`/Users/${mine}`, [{ op: 'replace', path: 'active', value: false }])
    expect((await q(`integrationId=${one.id}`)).map((u) => u.id)).toEqual([])
    expect((await q(`integrationId=${one.id}&status=archived`)).map((u) => u.id)).toEqual([mine])

    await one.scim.patch(`/Users/${mine}`, [{ op: 'replace', path: 'userName', value: `ken-${tag}` }])
    expect((await q('status=all')).map((u) => u.id)).toEqual([theirs])
    expect((await walk(`/users?status=all&q=ken-${tag}`, key)).map((u) => u.id)).toEqual([mine])

    await two.scim.delete(`/Users/${theirs}`)
    expect(await q('status=all')).toEqual([])
    const { results } = await env.DB.prepare('SELECT count(*) AS n FROM user_search WHERE user_id = ?').bind(theirs).all<{ n: number }>()
    expect(results[0]!.n).toBe(0)
  })

  it('refuses q, groupId and updatedSince together, naming them', async () => {
    const key = await readKey()
    for (const query of ['q=a&groupId=g', 'q=a&updatedSince=2026-01-01T00:00:00Z', 'groupId=g&updatedSince=2026-01-01T00:00:00Z']) {
      const res = await get(`/users?${query}`, key)
      expect(res.status, query).toBe(400)
      expect(res.body.detail, query).toMatch(/q, groupId and updatedSince/)
    }
  })
})
