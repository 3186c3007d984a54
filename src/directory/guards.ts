import { sql, type SQL } from 'drizzle-orm'
import { prepared, type Statement } from './prepared'
import { writeGuards } from './schema'

/**
 * A condition a write batch depends on: checked by the batch itself, in its own transaction, so a
 * write needs no read before it (D1 has no interactive transactions, and each read would be a
 * round trip of its own). When it does not hold, the batch aborts and writes nothing.
 */
export interface Guard {
  /** Reported back when the guard fails: a word (letters, digits, dashes). */
  name: string
  statement: Statement
}

/**
 * A kind of guard: `holds` is its condition, with `sql.placeholder`s for what varies, rendered once.
 * Its statement aborts the batch unless the condition holds (the trigger of migration 0028).
 */
export function guard<K extends string>(name: string, holds: SQL): (values: Record<K, unknown>) => Guard {
  const statement = prepared<K>(() => sql`INSERT INTO ${writeGuards} (failed) SELECT ${name} WHERE NOT (${holds})`)
  return (values) => ({ name, statement: statement(values) })
}

/** The name of the guard whose abort `e` is, or undefined for any other error. */
export function failedGuard(e: unknown): string | undefined {
  return e instanceof Error ? /write guard failed: ([\w-]+)/.exec(e.message)?.[1] : undefined
}
