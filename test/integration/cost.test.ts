import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { newIntegration, type ScimClient } from '../helpers/http'

/*
 * A lookup by id, userName, externalId or email must be an index seek, never a scan of the
 * integration's users: with 3,000 users, D1's own rows_read (reported by the Worker in
 * X-D1-Rows-Read) must stay at the handful a seek costs.
 */
const USERS = 3000
let scim: ScimClient
let groupId: string

beforeAll(async () => {
  const integration = await newIntegration()
  scim = integration.scim
  const seq = `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${USERS})`
  await env.DB.batch([
    env.DB.prepare(
      `${seq} INSERT INTO users (id, integration_id, user_name, user_name_key, external_id, display_name, active, data, version, created_at, updated_at)
       SELECT printf('u-%06d', n), ?1, 'User' || n || '@Cost.example', 'user' || n || '@cost.example', 'ext-' || n, 'User ' || n, 1,
              json_object('userName', 'User' || n || '@Cost.example', 'externalId', 'ext-' || n, 'active', json('true')), 1,
              '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM seq`
    ).bind(integration.id),
    env.DB.prepare(
      `${seq} INSERT INTO user_emails (user_id, integration_id, position, value_key, type_key) SELECT printf('u-%06d', n), ?1, 0, 'user' || n || '@cost.example', 'work' FROM seq`
    ).bind(integration.id),
  ])
  groupId = (await scim.post('/Groups', { displayName: 'Cost', members: [{ value: 'u-000010' }] })).body.id
})

const rowsRead = async (path: string) => {
  const res = await scim.get(path)
  expect(res.status).toBe(200)
  return Number(res.headers.get('x-d1-rows-read'))
}
const filter = (f: string) => `/Users?filter=${encodeURIComponent(f)}`

describe('lookups cost O(1) rows, whatever the directory size', () => {
  // The bound is what a seek costs: the caller check, the row, and for emails the email index row
  // and its user; a user in a group adds the membership and the group. A scan would read thousands.
  it.each([
    ['GET /Users/:id', '/Users/u-001500', 3],
    ['a user with one group', '/Users/u-000010', 5],
    ['userName eq', filter('userName eq "USER2999@cost.example"'), 3],
    // A non-unique index seek also reads the entry that ends the range.
    ['externalId eq', filter('externalId eq "ext-17"'), 4],
    ['emails.value eq', filter('emails.value eq "user5@cost.example"'), 6],
    ['emails[type eq "work"].value eq', filter('emails[type eq "work"].value eq "user6@cost.example"'), 6],
    ['userName eq with no match', filter('userName eq "nobody@cost.example"'), 3],
    ['GET /Groups/:id without members', '/Groups/GROUP?excludedAttributes=members', 3],
  ])('%s', async (_name, path, bound) => {
    expect(await rowsRead(path.replace('GROUP', groupId))).toBeLessThanOrEqual(bound)
  })

  it('an unfiltered page costs its page size, and its total comes from the counters', async () => {
    const res = await scim.get('/Users?count=10')
    expect(res.body.totalResults).toBe(USERS)
    // The caller check, then per user its row and the (empty) membership probe of its groups.
    expect(Number(res.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(1 + 10 * 3)
  })
})

describe('sorting and deep pages', () => {
  it('a selective or combined with a non-seekable value filter is driven by the selective part', async () => {
    const f = filter(
      '(userName eq "user17@cost.example" or userName eq "user2000@cost.example") and emails[type eq "work" and value co "@cost"]'
    )
    const res = await scim.get(f)
    expect(res.body.totalResults).toBe(2)
    expect(Number(res.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(20)
  })

  it('sorts by meta.lastModified through its index', async () => {
    const res = await scim.get('/Users?sortBy=meta.lastModified&count=10&excludedAttributes=groups')
    expect(res.body.Resources).toHaveLength(10)
    expect(Number(res.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(1 + 11)
  })

  it('sorts by userName through its index: a page of 10 costs about 10 rows, not the directory', async () => {
    const res = await scim.get('/Users?sortBy=userName&sortOrder=descending&count=10')
    // '@' sorts after '9', so user9@… comes before user999@… descending.
    expect(res.body.Resources[0].userName).toBe('User9@Cost.example')
    expect(Number(res.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(1 + 10 * 3)
  })

  it('a cursor page deep in the directory costs a page, where OFFSET costs its position', async () => {
    let cursor = ''
    for (const count of [1000, 1000, 990])
      cursor = (await scim.get(`/Users?cursor=${cursor}&count=${count}&excludedAttributes=groups`)).body.nextCursor
    const deepCursor = await scim.get(`/Users?cursor=${cursor}&count=10&excludedAttributes=groups`)
    expect(deepCursor.body.Resources).toHaveLength(10)
    expect(Number(deepCursor.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(1 + 11)
    const deepIndex = await scim.get('/Users?startIndex=2991&count=10&excludedAttributes=groups')
    expect(deepIndex.body.Resources.map((r: { id: string }) => r.id)).toEqual(deepCursor.body.Resources.map((r: { id: string }) => r.id))
    expect(Number(deepIndex.headers.get('x-d1-rows-read'))).toBeGreaterThan(2900)
  })
})

describe('large groups', () => {
  it('adds and removes members in O(changed members), and reads the group without members in O(1)', async () => {
    const { body: g } = await scim.post('/Groups', { displayName: 'Everyone' })
    await env.DB.prepare(
      `INSERT INTO group_members (group_id, member_id, member_type, integration_id) SELECT ?1, id, 'User', integration_id FROM users WHERE id LIKE 'u-%' AND id <= 'u-002500'`
    )
      .bind(g.id)
      .run()
    const change = ['u-002901', 'u-002902', 'u-002903'].map((value) => ({ value }))
    const add = await scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: change }])
    expect(add.status).toBe(204)
    expect(Number(add.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(30)
    const remove = await scim.patch(`/Groups/${g.id}`, [{ op: 'remove', path: 'members', value: change }])
    expect(Number(remove.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(30)
    const read = await scim.get(`/Groups/${g.id}?excludedAttributes=members`)
    expect(Number(read.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(3)
    const count = await env.DB.prepare('SELECT count(*) AS n FROM group_members WHERE group_id = ?').bind(g.id).first<{ n: number }>()
    expect(count?.n).toBe(2500)
  })
})

describe('filters with many values', () => {
  it('accept dozens of alternatives and refuse more than fit in a D1 statement with invalidFilter', async () => {
    const alternatives = (n: number) => Array.from({ length: n }, (_, i) => `id eq "u-${String(i + 1).padStart(6, '0')}"`).join(' or ')
    const ok = await scim.get(filter(alternatives(60)))
    expect(ok.status).toBe(200)
    expect(ok.body.totalResults).toBe(60)
    const tooMany = await scim.get(filter(alternatives(120)))
    expect(tooMany.status).toBe(400)
    expect(tooMany.body.scimType).toBe('invalidFilter')
    expect(tooMany.body.detail).toContain('values')
  })
})
