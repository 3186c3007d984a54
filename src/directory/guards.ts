import { sql, type SQL } from 'drizzle-orm'
import { writeGuards } from './schema'

/**
 * A condition a write batch depends on: checked by the batch itself, in its own transaction, so a
 * write needs no read before it (D1 has no interactive transactions, and each read would be a
 * round trip of its own). When it does not hold, the batch aborts and writes nothing.
 */
export interface Guard {
  /** Reported back when the guard fails: a word (letters, digits, dashes). */
  name: string
  holds: SQL
}

/** The statement that aborts its batch unless `guard` holds (the trigger of migration 0028). */
export const guardStatement = (guard: Guard) => sql`INSERT INTO ${writeGuards} (failed) SELECT ${guard.name} WHERE NOT (${guard.holds})`

/** The name of the guard whose abort `e` is, or undefined for any other error. */
export function failedGuard(e: unknown): string | undefined {
  return e instanceof Error ? /write guard failed: ([\w-]+)/.exec(e.message)?.[1] : undefined
}
