import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { failedAuth, refuseIfBlocked } from '../auth/failed-auth'
import { lookupApiKey } from '../auth/token-store'
import { API_KEY_PREFIX, secretsEqual, sha256Hex, TOKEN_PREFIX } from '../auth/token'
import { apiKeyHolds, apiKeyScope, touchApiKey, type ApiKeyScope } from '../directory/api-keys'
import { checkedFirst } from '../directory/guards'
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
const REVOKED = 'The API key is not valid: it was revoked or never existed.'

/** lastUsedAt: at most once a minute per key and isolate, and off the request's path (so not in its metered cost). */
function touch(c: Context<AppEnv>, keyId: string) {
  const now = Date.now()
  if (now - (lastTouched.get(keyId) ?? 0) < KEY_USE_INTERVAL_MS) return
  lastTouched.set(keyId, now)
  c.executionCtx.waitUntil(
    touchApiKey(createDb(c.env.DB), keyId, nowIso(), KEY_USE_INTERVAL_MS).catch((e) => console.error('lastUsedAt update failed', String(e)))
  )
}

const SCOPES: Record<ApiKeyScope, ApiAccess[]> = { read: ['read'], write: ['read', 'write'] }

const needs = (access: ApiAccess) =>
  access === 'admin'
    ? 'the admin token (ADMIN_TOKEN); API keys may only read the directory and, with scope "write", assign devices'
    : `an API key with scope "${access}" or the admin token`

export const apiAuth = (access: ApiAccess) =>
  createMiddleware<AppEnv>(async function apiAuth(c, next) {
    refuseIfBlocked(c.req.raw)
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    const bearer = match?.[1]
    const expected = c.env.ADMIN_TOKEN
    if (bearer && expected && (await secretsEqual(bearer, expected))) return next()
    if (bearer?.startsWith(API_KEY_PREFIX)) {
      const hash = await sha256Hex(bearer)
      const plain = c.get('db')
      const entry = await lookupApiKey(c.env.TOKENS, plain, hash)
      if (!entry) return failedAuth(c.env, c.req.raw, unauthorized(REVOKED))
      // Which of 401 and 403, read only when the key check failed.
      const refused = async (): Promise<never> => {
        const scope = await apiKeyScope(plain, entry.keyId, hash)
        if (!scope) throw unauthorized(REVOKED)
        touch(c, entry.keyId)
        throw forbidden(`This API key has scope "${scope}"; this endpoint needs ${needs(access)}.`)
      }
      const allowed = (Object.keys(SCOPES) as ApiKeyScope[]).filter((scope) => SCOPES[scope].includes(access))
      if (allowed.length === 0) await refused()
      // The key's row in D1 decides, in the request's first D1 batch: no round trip of its own.
      const { d1, ensure } = checkedFirst(c.get('d1'), apiKeyHolds({ keyId: entry.keyId, hash, scopes: JSON.stringify(allowed) }), refused)
      c.set('d1', d1)
      c.set('db', createDb(d1))
      await next()
      // Nothing is answered to a revoked key, even by an endpoint that needed no D1.
      if (c.res.status < 400) await ensure()
      // A valid key was used (a 403 says so too), whether or not this endpoint is within its scope.
      if (c.res.status !== 401) touch(c, entry.keyId)
      return
    }
    if (bearer?.startsWith(TOKEN_PREFIX))
      return failedAuth(
        c.env,
        c.req.raw,
        unauthorized("This is an integration's SCIM token; it is accepted only under /scim/v2. Use the admin token or an API key here.")
      )
    if (!expected && access === 'admin')
      return failedAuth(
        c.env,
        c.req.raw,
        unauthorized('The admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN).')
      )
    return failedAuth(
      c.env,
      c.req.raw,
      unauthorized(
        access === 'admin'
          ? 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".'
          : `Send an API key with scope "${access}" or the admin token as "Authorization: Bearer <key>".`
      )
    )
  })

/** Integrations, tokens, keys and webhooks: the admin token only. */
export const adminAuth = () => apiAuth('admin')
