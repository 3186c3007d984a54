import { createDb, meteredD1, newCost, type D1Cost } from '../directory/db'
import { getIntegration } from '../directory/integrations'
import { DirectorySession } from '../directory/session'

/**
 * What one import step works with: its integration, the directory as the import (not a SCIM
 * token) sees it, and a metered D1 so the run records the rows each page read and wrote.
 */
export async function importContext(env: Env, integrationId: string) {
  const cost = newCost()
  const d1 = meteredD1(env.DB, cost)
  const db = createDb(d1)
  const row = await getIntegration(db, integrationId)
  return { db, row, cost, session: new DirectorySession(d1, db, { integrationId }) }
}

/** A step's D1 cost, as recordProgress adds it to the run. */
export const spent = (cost: D1Cost) => ({ rowsRead: cost.rowsRead, rowsWritten: cost.rowsWritten })
