import { sql, type SQL } from 'drizzle-orm'
import { textFromBase64Url, toBase64Url } from '../base64url'
import * as z from 'zod'
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { invalidCursor, invalidFilter, invalidValue } from '../scim/errors'
import { stringify, type Filter } from '../scim/filter/ast'
import type { ListQuery } from '../scim/list-query'
import { pathText, resolvePath } from '../scim/schemas/registry'
import { compileFilter, sortColumn, type FilterTarget } from './filter-sql'
import type { DirectorySession } from './session'

/*
 * Listing for Users and Groups: filter, sort, and either index pagination (startIndex/count,
 * RFC 7644 §3.4.2.4) or cursor pagination (RFC 9865). Cursors are keyset positions (the sort key
 * and id of a page's last or first row), so walking a directory of any size costs O(page) per page
 * where OFFSET would cost O(position).
 */

/** What listing needs of a parsed SCIM list query (projection is the HTTP layer's). */
export type ListSpec = Pick<ListQuery, 'filter' | 'sort' | 'page'>

export interface Listed<Row> {
  rows: Row[]
  total: number
  /** Rows of the source's extra statements, in order. */
  extras?: unknown[][]
  nextCursor?: string
  previousCursor?: string
}

export interface ListSource {
  target: FilterTarget
  /** The id column, the final tie-breaker of every order. */
  id: SQL
  /** Rows of this integration. */
  scope: SQL
  table: SQL
  /** The page's SELECT for a WHERE and an ORDER BY/LIMIT tail; it selects `key` AS "sortKey". */
  select(where: SQL, tail: SQL, key: SQL): SQL
  /** Statements to run in the same batch for the same page, e.g. a group's members. */
  extra?(where: SQL, tail: SQL): SQL[]
  /** The unfiltered total, from the trigger-maintained counters. */
  unfilteredTotal(s: DirectorySession): number
}

const cursorSchema = z.object({
  /** after: the page starts after this position; before: it ends before it. */
  d: z.enum(['after', 'before']),
  k: z.union([z.string(), z.number(), z.null()]),
  id: z.string(),
  /** Hash of filter + sort: a cursor only continues the query that made it. */
  q: z.string(),
  t: z.number().int().nonnegative(),
})
type Cursor = z.infer<typeof cursorSchema>

const encode = (c: Cursor) => toBase64Url(JSON.stringify(c))

function decode(text: string): Cursor {
  try {
    const json = textFromBase64Url(text)
    return cursorSchema.parse(JSON.parse(json))
  } catch {
    throw invalidCursor('The cursor is not one this service issued. Start again with an empty cursor (?cursor=).')
  }
}

/** A short, stable fingerprint of the query a cursor belongs to (not a security boundary: scoping is by token). */
function fingerprint(spec: ListSpec): string {
  const text = `${spec.filter ? stringify(spec.filter) : ''}|${spec.sort?.by ?? ''}|${spec.sort?.descending ? 'd' : 'a'}`
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return (h >>> 0).toString(36)
}

/** Bound values a filter may use: D1 binds at most 100 per statement, and the query adds its own. */
export const MAX_FILTER_VALUES = 80
const dialect = new SQLiteSyncDialect()

function checkedFilter(filter: Filter, target: FilterTarget): SQL {
  const compiled = compileFilter(filter, target)
  const values = dialect.sqlToQuery(compiled).params.length
  if (values > MAX_FILTER_VALUES)
    throw invalidFilter(`The filter needs ${values} values; at most ${MAX_FILTER_VALUES} fit in one query. Split it into several requests.`)
  return compiled
}

interface OrderKey {
  expr: SQL
  nullable: boolean
}

/** The order key: the sort attribute's comparable expression (folded where case-insensitive), or none (by id). */
function orderKey(source: ListSource, spec: ListSpec): OrderKey | undefined {
  if (!spec.sort) return undefined
  const path = resolvePath(source.target.rt, spec.sort.by)
  if (!path) throw invalidValue(`sortBy: "${spec.sort.by}" is not an attribute of a ${source.target.rt.name}.`)
  const def = path.subAttribute ?? path.attribute
  if (path.attribute.multiValued || def.type === 'complex' || def.returned === 'never')
    throw invalidValue(`sortBy: "${pathText(path)}" cannot be sorted on; use a single-valued attribute.`)
  return sortColumn(source.target, path)
}

/**
 * Rows strictly beyond (k, id) in the given direction. NULL keys sort last ascending and first
 * descending, so one direction is the exact mirror of the other (previousCursor relies on it).
 */
function beyond(key: OrderKey | undefined, id: SQL, k: string | number | null, lastId: string, descending: boolean): SQL {
  const cmp = descending ? sql`<` : sql`>`
  if (!key) return sql`${id} ${cmp} ${lastId}`
  const e = key.expr
  const after = sql`(${e} ${cmp} ${k} OR (${e} = ${k} AND ${id} ${cmp} ${lastId}))`
  if (!key.nullable) return after
  if (!descending) return k === null ? sql`(${e} IS NULL AND ${id} > ${lastId})` : sql`(${after} OR ${e} IS NULL)`
  return k === null ? sql`((${e} IS NULL AND ${id} < ${lastId}) OR ${e} IS NOT NULL)` : after
}

/** Plain ASC/DESC on non-null keys, so SQLite can walk an index instead of sorting. */
function orderBy(key: OrderKey | undefined, id: SQL, descending: boolean): SQL {
  const dir = descending ? sql`DESC` : sql`ASC`
  if (!key) return sql`ORDER BY ${id} ${dir}`
  const nulls = key.nullable ? (descending ? sql` NULLS FIRST` : sql` NULLS LAST`) : sql``
  return sql`ORDER BY ${key.expr} ${dir}${nulls}, ${id} ${dir}`
}

/** Runs a list query. Rows carry their order key as `sortKey`, which cursors record. */
export async function listRows<Row extends { id: string; sortKey: string | number | null }>(
  s: DirectorySession,
  source: ListSource,
  spec: ListSpec
): Promise<Listed<Row>> {
  const filtered = spec.filter ? sql`${source.scope} AND ${checkedFilter(spec.filter, source.target)}` : source.scope
  const key = orderKey(source, spec)
  const descending = spec.sort?.descending ?? false
  const count = sql`SELECT count(*) AS n FROM ${source.table} WHERE ${filtered}`
  const total = async (rows: number, page: { startIndex: number; count: number }) => {
    if (!spec.filter) return source.unfilteredTotal(s)
    // A page that is not full, and is the first or not empty, ends the set: no count needed.
    if (rows < page.count && (rows > 0 || page.startIndex === 1)) return page.startIndex - 1 + rows
    return (await s.read<{ n: number }>(count))[0]![0]!.n
  }
  const selected = key?.expr ?? sql`NULL`
  const withKey = (where: SQL, tail: SQL) => [source.select(where, tail, selected), ...(source.extra?.(where, tail) ?? [])]

  if (spec.page.method === 'index') {
    const { startIndex, count: n } = spec.page
    const tail = sql`${orderBy(key, source.id, descending)} LIMIT ${n} OFFSET ${startIndex - 1}`
    const [rows, ...extras] = await s.read<Row>(...withKey(filtered, tail))
    return Object.assign({ rows: rows!, total: await total(rows!.length, spec.page) }, extras.length ? { extras } : {})
  }

  const { cursor, count: n } = spec.page
  const q = fingerprint(spec)
  const position = cursor === '' ? undefined : decode(cursor)
  if (position && position.q !== q)
    throw invalidCursor('The cursor belongs to a different query: keep filter, sortBy and sortOrder as on the first page.')
  // A "before" cursor reads backwards (the mirrored order) and turns the page round.
  const backwards = position?.d === 'before'
  const direction = backwards ? !descending : descending
  const where = position ? sql`${filtered} AND ${beyond(key, source.id, position.k, position.id, direction)}` : filtered
  const tail = sql`${orderBy(key, source.id, direction)} LIMIT ${n + 1}`
  const [fetched, ...extras] = await s.read<Row>(...withKey(where, tail))
  const more = fetched!.length > n
  const rows = fetched!.slice(0, n)
  if (backwards) rows.reverse()
  // The total is counted once, on the first page, and carried in the cursor: a walk never re-counts.
  const t =
    position?.t ??
    (!spec.filter ? source.unfilteredTotal(s) : rows.length < n ? rows.length : (await s.read<{ n: number }>(count))[0]![0]!.n)
  const first = rows[0]
  const last = rows[rows.length - 1]
  const hasNext = backwards ? position !== undefined : more
  const hasPrevious = backwards ? more : position !== undefined
  return Object.assign(
    {
      rows,
      total: t,
      ...(hasNext && last ? { nextCursor: encode({ d: 'after', k: last.sortKey, id: last.id, q, t }) } : {}),
      ...(hasPrevious && first ? { previousCursor: encode({ d: 'before', k: first.sortKey, id: first.id, q, t }) } : {}),
    },
    extras.length ? { extras } : {}
  )
}
