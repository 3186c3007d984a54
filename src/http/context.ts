import type { D1Cost, Db } from '../directory/db'
import type { DirectorySession } from '../directory/session'
import type { Caller } from '../admin/console/session'

export interface AppVariables {
  /** D1 rows read/written by this request, summed by the metered binding. */
  cost: D1Cost
  /** The D1 binding, metered. */
  d1: D1Database
  /** Drizzle over the metered D1 binding. */
  db: Db
  /** The directory as the authenticated SCIM caller sees it (set by scimAuth). */
  session: DirectorySession
  /** This request's id (X-Request-Id), also in its error log lines. */
  requestId: string
  /** Who is signed in to the console (set by its session check under /admin). */
  caller: Caller
}

export type AppEnv = { Bindings: Env; Variables: AppVariables }
