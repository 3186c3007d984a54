import { fillPlaceholders, SQL, type Query } from 'drizzle-orm'
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { createDb } from './db'

/** Anything drizzle can render to SQL: a `sql` template, a query builder, or a query already rendered. */
export type Statement = SQL | { toSQL(): Query } | Query

const dialect = new SQLiteSyncDialect()

export const render = (statement: Statement): Query =>
  statement instanceof SQL ? dialect.sqlToQuery(statement) : 'toSQL' in statement ? statement.toSQL() : statement

/** Builds statements for prepared(); it never runs them, so it needs no binding. */
export const builder = createDb({} as D1Database)

/**
 * A statement rendered to SQL once, on first use, with named placeholders (`sql.placeholder`) for
 * what varies, then bound anew each time. Drizzle's rendering walks every chunk of a statement, and
 * on a write, where the statements are the same every time, that was most of the JavaScript a
 * request ran (about 100 µs of 190 for a member PATCH; `npm run bench` shows the rate).
 */
export function prepared<K extends string>(build: () => Exclude<Statement, Query>): (values: Record<K, unknown>) => Query {
  let query: Query | undefined
  return (values) => {
    query ??= render(build())
    return { sql: query.sql, params: fillPlaceholders(query.params, values) }
  }
}
