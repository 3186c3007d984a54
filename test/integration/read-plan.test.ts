import { env } from 'cloudflare:workers'
import { sql, type SQL } from 'drizzle-orm'
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { describe, expect, it } from 'vitest'
import { readBatch } from '../../src/directory/session'
import { groupListStatement, userListStatement, type GroupListQuery, type UserListQuery } from '../../src/directory/views'

/*
 * The read API promises that every combination of its filters seeks an index and reads in index
 * order: no scan of a table and no sort of the matches, so a deep page costs a page of rows however
 * large the directory. SQLite's query plan says whether that holds; so for the search index's
 * upkeep, which must touch only the user being written.
 */

const dialect = new SQLiteSyncDialect()
const cursorAt = (position: Record<string, string>) => btoa(JSON.stringify(position)).replace(/=+$/, '')

async function plan(statement: SQL): Promise<string[]> {
  const query = dialect.sqlToQuery(statement)
  const [steps] = await readBatch<{ detail: string }>(env.DB, {
    toSQL: () => ({ sql: `EXPLAIN QUERY PLAN ${query.sql}`, params: query.params }),
  })
  return steps!.map((s) => s.detail)
}

/**
 * Seeks `driver` on an index, scans nothing but json_each and its own subqueries, sorts nothing. A
 * listing merged from index ranges (a compound SELECT) seeks `driver` in each of them.
 */
function expectSeeks(steps: string[], driver: string) {
  const all = steps.join(' | ')
  const coroutines = new Set(steps.flatMap((d) => /^CO-ROUTINE (\w+)/.exec(d)?.[1] ?? []))
  const seek = new RegExp(`^SEARCH ${driver} USING (COVERING )?(INDEX|PRIMARY KEY) `)
  if (steps[0] === 'MERGE (UNION ALL)') {
    const arms = steps.flatMap((d, i) => (d === 'LEFT' || d === 'RIGHT' ? [steps[i + 1]] : []))
    expect(arms, all).toHaveLength(2)
    for (const arm of arms) expect(arm, all).toMatch(seek)
  } else expect(steps[0], all).toMatch(seek)
  const scans = steps.filter((d) => /^SCAN /.test(d) && !/VIRTUAL TABLE/.test(d) && !coroutines.has(d.split(' ')[1]!))
  expect(scans, all).toEqual([])
  expect(all).not.toContain('TEMP B-TREE')
  expect(all).not.toContain('AUTOMATIC')
}

const since = '2026-01-01T00:00:00.000Z'
const userCombos: [string, UserListQuery, string][] = [
  ['active, across integrations', { status: 'active', limit: 100 }, 'u'],
  ['archived, across integrations, deep page', { status: 'archived', limit: 100, cursor: cursorAt({ id: 'm' }) }, 'u'],
  ['all, across integrations, deep page', { status: 'all', limit: 100, cursor: cursorAt({ id: 'm' }) }, 'u'],
  ['active, one integration, deep page', { integrationId: 'i', status: 'active', limit: 100, cursor: cursorAt({ id: 'm' }) }, 'u'],
  ['all, one integration', { integrationId: 'i', status: 'all', limit: 100 }, 'u'],
  [
    'changed since, across integrations, deep page',
    { status: 'all', updatedSince: since, limit: 100, cursor: cursorAt({ k: since, id: 'm' }) },
    'u',
  ],
  ['changed since, across integrations', { status: 'all', updatedSince: since, limit: 100 }, 'u'],
  ['changed since and active, across integrations', { status: 'active', updatedSince: since, limit: 100 }, 'u'],
  ['changed since, one integration', { integrationId: 'i', status: 'active', updatedSince: since, limit: 100 }, 'u'],
  [
    'q, across integrations, deep page',
    { status: 'active', q: 'ad', limit: 100, cursor: cursorAt({ o: 'search', k: 'ada', id: 'm' }) },
    's',
  ],
  ['q, one integration', { integrationId: 'i', status: 'all', q: 'ad', limit: 100 }, 's'],
  ['groupId, deep page', { status: 'active', groupId: 'g', limit: 100, cursor: cursorAt({ o: 'member', id: 'm' }) }, 'gm'],
  ['groupId, one integration', { integrationId: 'i', status: 'all', groupId: 'g', limit: 100 }, 'gm'],
]

const groupCombos: [string, GroupListQuery][] = [
  ['across integrations, deep page', { limit: 100, cursor: cursorAt({ o: 'id', id: 'm' }) }],
  ['one integration, deep page', { integrationId: 'i', limit: 100, cursor: cursorAt({ o: 'id', id: 'm' }) }],
  ['changed since, across integrations', { updatedSince: since, limit: 100 }],
  [
    'changed since, one integration, deep page',
    { integrationId: 'i', updatedSince: since, limit: 100, cursor: cursorAt({ o: 'change', k: since, id: 'm' }) },
  ],
  ['q, across integrations', { q: 'eng', limit: 100 }],
  [
    'q, one integration, deep page',
    { integrationId: 'i', q: 'eng', limit: 100, cursor: cursorAt({ o: 'search', k: 'engineering', id: 'm' }) },
  ],
]

describe('GET /api/v1/users query plans', () => {
  for (const [name, q, driver] of userCombos)
    it(`${name}: seeks an index in list order, no table scan, no sort`, async () => {
      expectSeeks(await plan(userListStatement(q)), driver)
    })
})

describe('GET /api/v1/groups query plans', () => {
  for (const [name, q] of groupCombos)
    it(`${name}: seeks an index in list order, no table scan, no sort`, async () => {
      expectSeeks(await plan(groupListStatement(q)), 'k')
    })
})

describe('the search index upkeep (migration 0017)', () => {
  it("reads and rewrites only the written user's rows", async () => {
    expectSeeks(await plan(sql`DELETE FROM user_search WHERE user_id = ${'x'}`), 'user_search')
    const insert = await plan(sql`INSERT OR IGNORE INTO user_search (term, user_id, integration_id)
      SELECT term, user_id, integration_id FROM user_search_terms WHERE user_id = ${'x'}`)
    expect(insert.filter((d) => /^SEARCH u /.test(d))).toHaveLength(2)
    expect(insert.filter((d) => /^SCAN u\b/.test(d))).toEqual([])
  })
})
