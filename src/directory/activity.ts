import { and, desc, eq, lt, lte, sql } from 'drizzle-orm'
import type { Db } from './db'
import { scimActivity, type ScimActivityRow } from './schema'

/*
 * The recent provisioning activity of an integration (View details in the console): SCIM requests
 * that changed something or failed. Entries wait in this isolate for up to FLUSH_MS and go to D1
 * together, in one batch that also drops what falls beyond each integration's newest ACTIVITY_KEPT:
 * a write of its own per SCIM write would halve write throughput (D1 has one writer; npm run bench
 * showed POST /Users fall from 0.5 to 0.3 × baseline). The cron removes rows older than
 * ACTIVITY_DAYS. An isolate evicted inside the window loses its last entries: this is a
 * diagnostic log, not the directory.
 */

export const ACTIVITY_KEPT = 200
export const ACTIVITY_DAYS = 14
const FLUSH_MS = 500
/** Entries one isolate holds at most while a flush is pending; more are dropped until it is written. */
const MAX_PENDING = 500
// Seven columns a row: D1 binds at most 100 parameters per statement.
const ROWS_PER_INSERT = 14
const MAX_PATH = 500
const MAX_DETAIL = 1000

export type ActivityEntry = Omit<ScimActivityRow, 'id'>

const cut = (text: string | null, max: number) => (text !== null && text.length > max ? `${text.slice(0, max - 1)}…` : text)

let pending: ActivityEntry[] = []
let flush: Promise<void> | undefined

/**
 * Records an entry. Returns the write it will be part of when this call scheduled that write (the
 * caller keeps it alive with waitUntil), else undefined: an earlier request's flush carries it.
 */
export function recordActivity(db: Db, entry: ActivityEntry): Promise<void> | undefined {
  if (pending.length < MAX_PENDING) pending.push({ ...entry, path: cut(entry.path, MAX_PATH)!, detail: cut(entry.detail, MAX_DETAIL) })
  if (flush) return undefined
  flush = new Promise((resolve) => setTimeout(resolve, FLUSH_MS)).then(() => {
    const rows = pending
    pending = []
    flush = undefined
    return writeActivity(db, rows)
  })
  return flush
}

async function writeActivity(db: Db, rows: ActivityEntry[]) {
  const inserts = []
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) inserts.push(db.insert(scimActivity).values(rows.slice(i, i + ROWS_PER_INSERT)))
  // The oldest beyond each integration's newest ACTIVITY_KEPT: a bounded walk of its index.
  const prunes = [...new Set(rows.map((r) => r.integrationId))].map((id) =>
    db
      .delete(scimActivity)
      .where(
        and(
          eq(scimActivity.integrationId, id),
          lte(
            scimActivity.id,
            sql`(SELECT id FROM scim_activity WHERE integration_id = ${id} ORDER BY id DESC LIMIT 1 OFFSET ${ACTIVITY_KEPT})`
          )
        )
      )
  )
  const [first, ...rest] = [...inserts, ...prunes]
  if (first) await db.batch([first, ...rest])
}

/** The newest entries first. */
export async function listActivity(db: Db, integrationId: string, limit = 20) {
  return db.select().from(scimActivity).where(eq(scimActivity.integrationId, integrationId)).orderBy(desc(scimActivity.id)).limit(limit)
}

export async function pruneActivity(db: Db, days = ACTIVITY_DAYS, now = Date.now()) {
  const gone = await db
    .delete(scimActivity)
    .where(lt(scimActivity.at, new Date(now - days * 86_400_000).toISOString()))
    .returning({ id: scimActivity.id })
  return gone.length
}
