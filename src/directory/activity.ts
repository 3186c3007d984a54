import { and, desc, eq, lt, lte, sql } from 'drizzle-orm'
import type { Db } from './db'
import { scimActivity, type ScimActivityRow } from './schema'

/*
 * The recent provisioning activity of an integration (View details in the console): SCIM requests
 * that changed something or failed. Recorded after the response (waitUntil), in one batch that also
 * drops what falls beyond the newest ACTIVITY_KEPT, so the table stays bounded per integration;
 * the cron removes rows older than ACTIVITY_DAYS.
 */

export const ACTIVITY_KEPT = 200
export const ACTIVITY_DAYS = 14
const MAX_PATH = 500
const MAX_DETAIL = 1000

export type ActivityEntry = Omit<ScimActivityRow, 'id'>

const cut = (text: string | null, max: number) => (text !== null && text.length > max ? `${text.slice(0, max - 1)}…` : text)

export async function recordActivity(db: Db, entry: ActivityEntry) {
  const row = { ...entry, path: cut(entry.path, MAX_PATH)!, detail: cut(entry.detail, MAX_DETAIL) }
  await db.batch([
    db.insert(scimActivity).values(row),
    // The oldest beyond the newest ACTIVITY_KEPT: a bounded walk of this integration's index.
    db
      .delete(scimActivity)
      .where(
        and(
          eq(scimActivity.integrationId, entry.integrationId),
          lte(
            scimActivity.id,
            sql`(SELECT id FROM scim_activity WHERE integration_id = ${entry.integrationId} ORDER BY id DESC LIMIT 1 OFFSET ${ACTIVITY_KEPT})`
          )
        )
      ),
  ])
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
