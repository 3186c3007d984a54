import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1'

/** Drizzle over D1, with the binding itself ($client) for raw batches. */
export type Db = DrizzleD1Database & { $client: D1Database }

/** D1's own cost figures for one request, summed from every statement's `meta`. */
export interface D1Cost {
  /** Calls to the binding that waited on D1: each batch, and each statement run on its own. */
  roundTrips: number
  queries: number
  rowsRead: number
  rowsWritten: number
}

export const newCost = (): D1Cost => ({ roundTrips: 0, queries: 0, rowsRead: 0, rowsWritten: 0 })

const add = (cost: D1Cost, meta: D1Meta | undefined) => {
  cost.queries++
  cost.rowsRead += meta?.rows_read ?? 0
  cost.rowsWritten += meta?.rows_written ?? 0
}

/** The binding's own statement behind a metered one, for batch(), which takes only its own. */
const unmetered = new WeakMap<object, D1PreparedStatement>()

/** A statement that counts a round trip (and, where D1 reports it, its rows) each time it runs alone. */
function meteredStatement(statement: D1PreparedStatement, cost: D1Cost): D1PreparedStatement {
  const metered = new Proxy(statement, {
    get(target, prop) {
      if (prop === 'bind') return (...values: unknown[]) => meteredStatement(target.bind(...values), cost)
      if (prop === 'run' || prop === 'all')
        return async () => {
          cost.roundTrips++
          const result = await target[prop]()
          add(cost, result.meta)
          return result
        }
      if (prop === 'first' || prop === 'raw')
        return async (...args: never[]) => {
          cost.roundTrips++
          cost.queries++
          return (target[prop] as (...a: never[]) => Promise<unknown>)(...args)
        }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  unmetered.set(metered, statement)
  return metered
}

/**
 * Wraps the binding so every call that waits on D1 counts as a round trip, and every statement adds
 * its `meta.rows_read` / `rows_written` to `cost`. The figures come back to clients in the
 * `X-D1-Round-Trips`, `X-D1-Rows-Read` and `X-D1-Rows-Written` headers and feed `npm run bench`.
 */
export function meteredD1(d1: D1Database, cost: D1Cost): D1Database {
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          cost.roundTrips++
          let results: D1Result[]
          try {
            results = await target.batch(statements.map((s) => unmetered.get(s) ?? s))
          } catch (e) {
            // A batch that failed (a guard's abort, a conflict) still ran its statements up to there.
            cost.queries += statements.length
            throw e
          }
          for (const r of results) add(cost, r.meta)
          return results
        }
      }
      if (prop === 'prepare') return (query: string) => meteredStatement(target.prepare(query), cost)
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
