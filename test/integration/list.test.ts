import { beforeEach, describe, expect, it } from 'vitest'
import { newIntegration, userBody, type ScimClient } from '../helpers/http'

let scim: ScimClient
const people = [
  ['dora@example.com', 'Zeta'],
  ['Alice@example.com', 'beta'],
  ['carl@example.com', undefined],
  ['bob@example.com', 'Alpha'],
  ['eve@example.com', undefined],
  ['Frank@example.com', 'gamma'],
  ['gus@example.com', 'Beta'],
] as const
beforeEach(async () => {
  ;({ scim } = await newIntegration())
  for (const [userName, familyName] of people) await scim.post('/Users', userBody(userName, familyName ? { name: { familyName } } : {}))
})

const names = (body: { Resources: { userName: string }[] }) => body.Resources.map((r) => r.userName)
const q = (params: string) => scim.get(`/Users?${params}`)

describe('sortBy / sortOrder (RFC 7644 §3.4.2.3)', () => {
  it('sorts by userName case-insensitively, both ways', async () => {
    const asc = names((await q('sortBy=userName')).body)
    expect(asc).toEqual([
      'Alice@example.com',
      'bob@example.com',
      'carl@example.com',
      'dora@example.com',
      'eve@example.com',
      'Frank@example.com',
      'gus@example.com',
    ])
    expect(names((await q('sortBy=UserName&sortOrder=Descending')).body)).toEqual([...asc].reverse())
  })

  it('puts resources without the attribute last ascending and first descending, ties by id', async () => {
    const asc = (await q('sortBy=name.familyName&count=100')).body.Resources.map(
      (r: { name?: { familyName: string } }) => r.name?.familyName ?? null
    )
    expect(asc.slice(0, 5).map((n: string) => n.toLowerCase())).toEqual(['alpha', 'beta', 'beta', 'gamma', 'zeta'])
    expect(asc.slice(5)).toEqual([null, null])
    const desc = (await q('sortBy=name.familyName&sortOrder=descending')).body.Resources.map(
      (r: { name?: { familyName: string } }) => r.name?.familyName ?? null
    )
    expect(desc.slice(0, 2)).toEqual([null, null])
  })

  it('sorts a filtered page and pages through it', async () => {
    const res = await q(`filter=${encodeURIComponent('userName ew "@example.com"')}&sortBy=userName&startIndex=2&count=2`)
    expect(names(res.body)).toEqual(['bob@example.com', 'carl@example.com'])
    expect(res.body.totalResults).toBe(7)
  })

  it('rejects what it cannot sort by with 400', async () => {
    for (const params of ['sortBy=shoeSize', 'sortBy=emails', 'sortBy=name', 'sortBy=userName&sortOrder=sideways']) {
      const res = await q(params)
      expect(res.status, params).toBe(400)
      expect(res.body.scimType).toBe('invalidValue')
    }
  })
})

describe('cursor pagination (RFC 9865)', () => {
  async function walk(params: string) {
    const seen: string[] = []
    let cursor = ''
    const totals = new Set<number>()
    for (let i = 0; i < 10; i++) {
      const res = await q(`${params}&cursor=${cursor}&count=3`)
      expect(res.status).toBe(200)
      expect(res.body.startIndex).toBeUndefined()
      totals.add(res.body.totalResults)
      seen.push(...names(res.body))
      if (!res.body.nextCursor) break
      cursor = res.body.nextCursor
    }
    return { seen, totals }
  }

  it('walks every user exactly once, in order, with a constant total', async () => {
    const { seen, totals } = await walk('sortBy=userName')
    expect(seen).toEqual(names((await q('sortBy=userName')).body))
    expect(totals).toEqual(new Set([7]))
    const byId = await walk('x=1')
    expect(new Set(byId.seen).size).toBe(7)
    expect(byId.seen).toEqual(names((await q('count=100')).body))
  })

  it('walks a filtered, descending sort with missing values', async () => {
    const f = encodeURIComponent('userName ne "gus@example.com"')
    const { seen, totals } = await walk(`filter=${f}&sortBy=name.familyName&sortOrder=descending`)
    expect(seen).toEqual(names((await q(`filter=${f}&sortBy=name.familyName&sortOrder=descending`)).body))
    expect(totals).toEqual(new Set([6]))
  })

  it('goes back with previousCursor to exactly the previous page', async () => {
    const first = await q('sortBy=userName&cursor=&count=3')
    expect(first.body.previousCursor).toBeUndefined()
    const second = await q(`sortBy=userName&cursor=${first.body.nextCursor}&count=3`)
    const back = await q(`sortBy=userName&cursor=${second.body.previousCursor}&count=3`)
    expect(names(back.body)).toEqual(names(first.body))
    expect(back.body.previousCursor).toBeUndefined()
    expect(back.body.nextCursor).toBeDefined()
  })

  it('keeps its place when users are added during a walk', async () => {
    const first = await q('sortBy=userName&cursor=&count=3')
    await scim.post('/Users', userBody('aaron@example.com'))
    const rest = await q(`sortBy=userName&cursor=${first.body.nextCursor}&count=100`)
    expect([...names(first.body), ...names(rest.body)]).toEqual([
      'Alice@example.com',
      'bob@example.com',
      'carl@example.com',
      'dora@example.com',
      'eve@example.com',
      'Frank@example.com',
      'gus@example.com',
    ])
  })

  it('answers bad cursors and counts with the RFC 9865 error types', async () => {
    const first = await q('sortBy=userName&cursor=&count=3')
    const otherQuery = await q(`sortBy=userName&sortOrder=descending&cursor=${first.body.nextCursor}&count=3`)
    expect(otherQuery.body).toMatchObject({ status: '400', scimType: 'invalidCursor' })
    expect((await q('cursor=not-a-cursor')).body.scimType).toBe('invalidCursor')
    expect((await q('cursor=&count=0')).body.scimType).toBe('invalidCount')
    expect((await q('cursor=&startIndex=1')).body.scimType).toBe('invalidValue')
  })

  it('works through POST /.search too', async () => {
    const res = await scim.post('/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      sortBy: 'userName',
      cursor: '',
      count: 5,
    })
    expect(res.body.Resources).toHaveLength(5)
    expect(res.body.nextCursor).toBeDefined()
  })

  it('is advertised in ServiceProviderConfig', async () => {
    const spc = await scim.get('/ServiceProviderConfig')
    expect(spc.body.pagination).toMatchObject({ cursor: true, index: true })
    expect(spc.body.sort).toEqual({ supported: true })
  })
})
