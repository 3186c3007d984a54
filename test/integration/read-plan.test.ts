import { env } from 'cloudflare:workers'
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { describe, expect, it } from 'vitest'
import { readBatch } from '../../src/directory/session'
import { userListStatement, type UserListQuery } from '../../src/directory/views'

/*
 * GET /api/v1/users promises that every combination of its filters seeks an index and reads in
 * index order: no scan of the users table and no sort of the matches, so a deep page costs a page
 * of rows however large the directory. SQLite's query plan says whether that holds.
 */

const dialect = new SQLiteSyncDialect()
const cursorAt = (position: Record<string, string>) => btoa(JSON.stringify(position)).replace(/=+$/, '')

async function plan(q: UserListQuery): Promise<string[]> {
  const query = dialect.sqlToQuery(userListStatement(q))
  const [steps] = await readBatch<{ detail: string }>(env.DB, {
    toSQL: () => ({ sql: `EXPLAIN QUERY PLAN ${query.sql}`, params: query.params }),
  })
  return steps!.map((s) => s.detail)
}

const since = '2026-01-01T00:00:00.000Z'
const combos: [string, UserListQuery][] = [
  ['active, across integrations', { status: 'active', limit: 100 }],
  ['archived, across integrations, deep page', { status: 'archived', limit: 100, cursor: cursorAt({ id: 'm' }) }],
  ['all, across integrations, deep page', { status: 'all', limit: 100, cursor: cursorAt({ id: 'm' }) }],
  ['active, one integration, deep page', { integrationId: 'i', status: 'active', limit: 100, cursor: cursorAt({ id: 'm' }) }],
  ['all, one integration', { integrationId: 'i', status: 'all', limit: 100 }],
  [
    'changed since, across integrations, deep page',
    { status: 'all', updatedSince: since, limit: 100, cursor: cursorAt({ k: since, id: 'm' }) },
  ],
  ['changed since and active, across integrations', { status: 'active', updatedSince: since, limit: 100 }],
  ['changed since, one integration', { integrationId: 'i', status: 'active', updatedSince: since, limit: 100 }],
]

describe('GET /api/v1/users query plans', () => {
  for (const [name, q] of combos)
    it(`${name}: seeks an index in list order, no table scan, no sort`, async () => {
      const steps = await plan(q)
      const all = steps.join(' | ')
      expect(
        steps.some((d) => /^SEARCH u USING (COVERING )?INDEX /.test(d)),
        all
      ).toBe(true)
      expect(
        steps.some((d) => /^SCAN u\b/.test(d)),
        all
      ).toBe(false)
      expect(all).not.toContain('TEMP B-TREE')
    })
})
