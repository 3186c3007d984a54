import { createMiddleware } from 'hono/factory'
import { lookupApiKey } from '../auth/token-store'
import { API_KEY_PREFIX, secretsEqual, sha256Hex, TOKEN_PREFIX } from '../auth/token'
import { apiKeyScope, touchApiKey, type ApiKeyScope } from '../directory/api-keys'
import { createDb, nowIso } from '../directory/db'
import { forbidden, unauthorized } from '../scim/errors'
import type { AppEnv } from '../http/context'

/**
 * What a call to /api/v1 needs: `admin` (integrations, tokens, keys, webhooks) opens only to the
 * ADMIN_TOKEN secret; `read` and `write` also to application API keys of that scope (a `write` key
 * may read too). SCIM tokens open nothing here, as API keys open nothing under /scim/v2.
 */
export type ApiAccess = 'admin' | ApiKeyScope

/** lastUsedAt moves at most this often per key: a write per request would cost more than it tells. */
const KEY_USE_INTERVAL_MS = 60_000
const lastTouched = new Map<string, number>()

const SCOPES: Record<ApiKeyScope, ApiAccess[]> = { read: ['read'], write: ['read', 'write'] }

const needs = (access: ApiAccess) =>
  access === 'admin'
    ? 'the admin token (ADMIN_TOKEN); API keys may only read the directory and, with scope "write", assign devices'
    : `an API key with scope "${access}" or the admin token`

export const apiAuth = (access: ApiAccess) =>
  createMiddleware<AppEnv>(async function apiAuth(c, next) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    const bearer = match?.[1]
    const expected = c.env.ADMIN_TOKEN
    if (bearer && expected && (await secretsEqual(bearer, expected))) return next()
    if (bearer?.startsWith(API_KEY_PREFIX)) {
      const hash = await sha256Hex(bearer)
      const entry = await lookupApiKey(c.env.TOKENS, c.get('db'), hash)
      const scope = entry && (await apiKeyScope(c.get('db'), entry.keyId, hash))
      if (!entry || !scope) throw unauthorized('The API key is not valid: it was revoked or never existed.')
      // A valid key was used, whether or not this endpoint is within its scope. At most once a
      // minute per key and isolate, and off the request's path (so not in its metered cost).
      const now = Date.now()
      if (now - (lastTouched.get(entry.keyId) ?? 0) >= KEY_USE_INTERVAL_MS) {
        lastTouched.set(entry.keyId, now)
        c.executionCtx.waitUntil(
          touchApiKey(createDb(c.env.DB), entry.keyId, nowIso(), KEY_USE_INTERVAL_MS).catch((e) =>
            console.error('lastUsedAt update failed', String(e))
          )
        )
      }
      if (!SCOPES[scope].includes(access)) throw forbidden(`This API key has scope "${scope}"; this endpoint needs ${needs(access)}.`)
      return next()
    }
    if (bearer?.startsWith(TOKEN_PREFIX))
      throw unauthorized("This is an integration's SCIM token; it is accepted only under /scim/v2. Use the admin token or an API key here.")
    if (!expected && access === 'admin')
      throw unauthorized('The admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN).')
    throw unauthorized(
      access === 'admin'
        ? 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".'
        : `Send an API key with scope "${access}" or the admin token as "Authorization: Bearer <key>".`
    )
  })

/** Integrations, tokens, keys and webhooks: the admin token only. */
export const adminAuth = () => apiAuth('admin')
