import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1'

/** Drizzle over D1, with the binding itself ($client) for raw batches. */
export type Db = DrizzleD1Database & { $client: D1Database }

/** D1's own cost figures for one request, summed from every statement's `meta`. */
export interface D1Cost {
  queries: number
  rowsRead: number
  rowsWritten: number
}

export const newCost = (): D1Cost => ({ queries: 0, rowsRead: 0, rowsWritten: 0 })

/**
 * Wraps the binding so every batch adds its `meta.rows_read` / `rows_written` to `cost`. The store
 * sends all its statements through `batch`, so the figures are complete; they come back to clients
 * in the `X-D1-Rows-Read` / `X-D1-Rows-Written` headers and feed `npm run bench`.
 */
export function meteredD1(d1: D1Database, cost: D1Cost): D1Database {
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements)
          for (const r of results) {
            cost.queries++
            cost.rowsRead += r.meta?.rows_read ?? 0
            cost.rowsWritten += r.meta?.rows_written ?? 0
          }
          return results
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

// No relational-query schema: it would be rebuilt on every request (the metered binding is
// per request) and nothing here uses db.query.
export const createDb = (d1: D1Database): Db => drizzle(d1)

// The one case folding, shared with the in-memory filter evaluator.
export { foldKey } from '../scim/fold'

/** D1 binds at most 100 parameters per statement; lists are split to stay under it with room for the rest. */
export const PARAMS_PER_CHUNK = 90
export function chunks<T>(items: T[], size = PARAMS_PER_CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** SQLite's UNIQUE violation as D1 reports it. */
export const isUniqueViolation = (e: unknown) => e instanceof Error && /UNIQUE constraint failed/i.test(e.message)

export const nowIso = () => new Date().toISOString()
