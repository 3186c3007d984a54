import { getTableName, type Query, type SQL } from 'drizzle-orm'
import { prepared } from './prepared'
import { writeGuards } from './schema'

const WRITE_GUARDS = `"${getTableName(writeGuards)}"`

/**
 * A condition a write batch depends on: checked by the batch itself, in its own transaction, so a
 * write needs no read before it (D1 has no interactive transactions, and each read would be a
 * round trip of its own). When it does not hold, the batch aborts and writes nothing.
 */
export interface Guard {
  /** Reported back when the guard fails: a word (letters, digits, dashes). */
  name: string
  /** The condition, rendered, with its values. */
  holds: Query
}

const NAME = /^[\w-]+$/

/**
 * A kind of guard: `holds` is its condition, with `sql.placeholder`s for what varies, rendered once.
 * guarding() turns the guards of a batch into the statement that aborts it.
 */
export function guard<K extends string>(name: string, holds: SQL): (values: Record<K, unknown>) => Guard {
  // Names go into the statement's text (guarding()), so they are words and nothing else.
  if (!NAME.test(name)) throw new Error(`guard name "${name}" is not a word`)
  const condition = prepared<K>(() => holds)
  return (values) => ({ name, holds: condition(values) })
}

/**
 * One statement for all the guards a batch leads with: it aborts the batch (the trigger of migration
 * 0028) naming the first guard, in order, that does not hold, as a statement per guard would, for
 * the price of one. Each statement of a batch costs D1 a round of its own work, so a member PATCH
 * leading with three guards ran three where it now runs one.
 */
export function guarding(guards: Guard[]): Query {
  const cases = guards.map((g) => `WHEN NOT (${g.holds.sql}) THEN '${g.name}'`).join(' ')
  return {
    sql: `INSERT INTO ${WRITE_GUARDS} (failed) SELECT failed FROM (SELECT CASE ${cases} END AS failed) WHERE failed IS NOT NULL`,
    params: guards.flatMap((g) => g.holds.params),
  }
}

/** The name of the guard whose abort `e` is, or undefined for any other error. */
export function failedGuard(e: unknown): string | undefined {
  return e instanceof Error ? /write guard failed: ([\w-]+)/.exec(e.message)?.[1] : undefined
}

/** The binding's own statement behind one of checkedFirst's, for batch(), which takes only its own. */
const unwrapped = new WeakMap<object, D1PreparedStatement>()

/**
 * A D1 binding whose first call carries `first` as its leading guard: a caller check that costs no
 * round trip of its own (the application API's key check rides in the page's batch). A statement
 * run alone before any batch is preceded by the check alone. When the guard fails, `refused` says
 * why (it throws); nothing of the call it led ran. `ensure` runs the check alone if no call has yet,
 * for a response that needed no D1 at all.
 */
export function checkedFirst(d1: D1Database, first: Guard, refused: () => Promise<never>): { d1: D1Database; ensure: () => Promise<void> } {
  let checked = false
  const query = guarding([first])
  const run = async (statements: D1PreparedStatement[]) => {
    try {
      const results = await d1.batch([d1.prepare(query.sql).bind(...query.params), ...statements])
      checked = true
      return results.slice(1)
    } catch (e) {
      if (failedGuard(e) === first.name) await refused()
      throw e
    }
  }
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, prop) {
        if (prop === 'bind') return (...values: unknown[]) => wrap(target.bind(...values))
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        if (!['run', 'all', 'first', 'raw'].includes(String(prop))) return value.bind(target)
        return async (...args: unknown[]) => {
          if (!checked) await run([])
          return value.apply(target, args)
        }
      },
    })
    unwrapped.set(wrapped, statement)
    return wrapped
  }
  const checkedD1 = new Proxy(d1, {
    get(target, prop) {
      if (prop === 'batch')
        return (statements: D1PreparedStatement[]) => {
          const own = statements.map((s) => unwrapped.get(s) ?? s)
          return checked ? target.batch(own) : run(own)
        }
      if (prop === 'prepare') return (sql: string) => wrap(target.prepare(sql))
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {
    d1: checkedD1,
    ensure: async () => {
      if (!checked) await run([])
    },
  }
}
