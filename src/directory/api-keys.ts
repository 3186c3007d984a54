import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm'
import { notFound } from '../scim/errors'
import { nowIso, type Db } from './db'
import { guard } from './guards'
import { apiKeys, type ApiKeyRow } from './schema'

/* Application API keys: created, listed and revoked by the admin; checked on every /api/v1 call. */

export type ApiKeyScope = ApiKeyRow['scope']

export async function createApiKey(db: Db, input: { id: string; name: string; scope: ApiKeyScope; tokenHash: string }): Promise<ApiKeyRow> {
  const row: ApiKeyRow = { ...input, createdAt: nowIso(), lastUsedAt: null }
  await db.batch([db.insert(apiKeys).values(row)])
  return row
}

export async function listApiKeys(db: Db): Promise<ApiKeyRow[]> {
  const [rows] = await db.batch([db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))])
  return rows
}

/** Revokes a key; returns its hash so the caller can drop the KV entry too. */
export async function deleteApiKey(db: Db, id: string): Promise<string> {
  const [deleted] = await db.batch([db.delete(apiKeys).where(eq(apiKeys.id, id)).returning({ tokenHash: apiKeys.tokenHash })])
  if (deleted.length === 0) throw notFound(`No API key with id "${id}".`)
  return deleted[0]!.tokenHash
}

/**
 * The authoritative check: the key's scope if a key with this id and hash still exists. KV only says
 * which key a hash claims; this row decides, so a revoked key fails here although KV may still hold it.
 */
export async function apiKeyScope(db: Db, id: string, tokenHash: string): Promise<ApiKeyScope | undefined> {
  const [[row]] = await db.batch([
    db
      .select({ scope: apiKeys.scope })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, id), eq(apiKeys.tokenHash, tokenHash))),
  ])
  return row?.scope
}

/**
 * The same check as a guard, for the first D1 batch of a request (guards.ts checkedFirst): the key
 * with this id and hash exists and has one of `scopes` (a JSON array).
 */
export const apiKeyHolds = guard<'keyId' | 'hash' | 'scopes'>(
  'api-key',
  sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE id = ${sql.placeholder('keyId')} AND token_hash = ${sql.placeholder('hash')}
    AND scope IN (SELECT value FROM json_each(${sql.placeholder('scopes')})))`
)

/** Which key a hash belongs to, through D1's index on it: the fallback when KV does not have it yet. */
export async function apiKeyByHash(db: Db, tokenHash: string): Promise<{ keyId: string } | undefined> {
  const [[row]] = await db.batch([db.select({ keyId: apiKeys.id }).from(apiKeys).where(eq(apiKeys.tokenHash, tokenHash))])
  return row
}

/** Records use, at most once per `intervalMs` per key (the write happens off the request path). */
export async function touchApiKey(db: Db, id: string, at: string, intervalMs: number) {
  const before = new Date(Date.parse(at) - intervalMs).toISOString()
  await db.batch([
    db
      .update(apiKeys)
      .set({ lastUsedAt: at })
      .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, before)))),
  ])
}
