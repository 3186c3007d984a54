import * as z from 'zod'
import type { Db } from '../directory/db'
import { apiKeyByHash } from '../directory/api-keys'
import { integrationByTokenHash } from '../directory/integrations'

/*
 * KV layout: `token:<sha256 hex of the token>` → {"integrationId","tokenId"}. No plaintext token is
 * stored anywhere. KV answers "which integration does this token claim"; the integration's row in
 * D1 (current_token_id) decides whether it is still valid, so rotation and deletion take effect at
 * once in every location even though KV needs up to a minute to propagate a change.
 */

const tokenEntrySchema = z.object({ integrationId: z.string(), tokenId: z.string() })
export type TokenEntry = z.infer<typeof tokenEntrySchema>

const key = (hash: string) => `token:${hash}`

/** Positive lookups only: safe to keep, since D1 re-checks validity on every request. */
const cache = new Map<string, TokenEntry>()
const CACHE_LIMIT = 10_000

function remember<T>(map: Map<string, T>, hash: string, entry: T) {
  if (map.size >= CACHE_LIMIT) map.clear()
  map.set(hash, entry)
}

export async function putToken(kv: KVNamespace, hash: string, entry: TokenEntry) {
  await kv.put(key(hash), JSON.stringify(entry))
}

export async function deleteToken(kv: KVNamespace, hash: string | null | undefined) {
  if (!hash) return
  cache.delete(hash)
  await kv.delete(key(hash))
}

/**
 * Which integration a token hash belongs to. A KV miss falls back to D1's index on the current
 * token hash, so a token minted a moment ago in another location works before KV has it.
 */
export async function lookupToken(kv: KVNamespace, db: Db, hash: string): Promise<TokenEntry | undefined> {
  const cached = cache.get(hash)
  if (cached) return cached
  const parsed = tokenEntrySchema.safeParse(await kv.get(key(hash), 'json'))
  let entry = parsed.success ? parsed.data : undefined
  entry ??= await integrationByTokenHash(db, hash)
  if (entry) remember(cache, hash, entry)
  return entry
}

/*
 * Application API keys: `apikey:<sha256 hex of the key>` → {"keyId"}. As for SCIM tokens, KV only
 * names the key a hash claims; its row in D1 decides on every request (src/directory/api-keys.ts).
 */
const apiKeyEntrySchema = z.object({ keyId: z.string() })
const apiKeyKey = (hash: string) => `apikey:${hash}`

export async function putApiKey(kv: KVNamespace, hash: string, keyId: string) {
  await kv.put(apiKeyKey(hash), JSON.stringify({ keyId }))
}

export async function deleteApiKeyEntry(kv: KVNamespace, hash: string) {
  apiKeyCache.delete(hash)
  await kv.delete(apiKeyKey(hash))
}

/** Positive lookups only, as for tokens: the key's row in D1 is checked on every request. */
const apiKeyCache = new Map<string, { keyId: string }>()

export async function lookupApiKey(kv: KVNamespace, db: Db, hash: string): Promise<{ keyId: string } | undefined> {
  const cached = apiKeyCache.get(hash)
  if (cached) return cached
  const parsed = apiKeyEntrySchema.safeParse(await kv.get(apiKeyKey(hash), 'json'))
  const entry = parsed.success ? parsed.data : await apiKeyByHash(db, hash)
  if (entry) remember(apiKeyCache, hash, entry)
  return entry
}
