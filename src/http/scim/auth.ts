import { createMiddleware } from 'hono/factory'
import { failedAuth, refuseIfBlocked } from '../../auth/failed-auth'
import { lookupToken } from '../../auth/token-store'
import { sha256Hex, TOKEN_PREFIX } from '../../auth/token'
import { recordActivity } from '../../directory/activity'
import { touchActivity } from '../../directory/integrations'
import { createDb, nowIso } from '../../directory/db'
import { DirectorySession } from '../../directory/session'
import { unauthorized } from '../../scim/errors'
import type { AppEnv } from '../context'

/** lastActivityAt is written at most this often per integration and isolate: a write per request would cost more than it tells. */
const ACTIVITY_INTERVAL_MS = 60_000
const lastTouched = new Map<string, number>()

/**
 * Resolves the bearer token to its integration and opens that integration's directory session.
 * Whether the token is still current is checked by the session's first D1 batch (see session.ts).
 */
export const scimAuth = () =>
  createMiddleware<AppEnv>(async function scimAuth(c, next) {
    refuseIfBlocked(c.req.raw)
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!match) return failedAuth(c.env, c.req.raw, unauthorized('Send the integration\'s token as "Authorization: Bearer <token>".'))
    const token = match[1]!
    const entry = token.startsWith(TOKEN_PREFIX) ? await lookupToken(c.env.TOKENS, c.get('db'), await sha256Hex(token)) : undefined
    if (!entry) return failedAuth(c.env, c.req.raw, unauthorized('The bearer token is not valid for this service.'))
    // Searches are POSTs that only read.
    const changes = !['GET', 'HEAD'].includes(c.req.method) && !c.req.path.endsWith('/.search')
    c.set('session', new DirectorySession(c.get('d1'), c.get('db'), entry, changes))
    await next()
    // What changed something or failed, for the console's activity log: after the response. A Bulk
    // request's operations come through here one by one, so the request itself counts only if it failed.
    if (c.res.status >= 400 || (changes && !c.req.path.endsWith('/Bulk')))
      c.executionCtx.waitUntil(
        logActivity(c.env.DB, entry.integrationId, c.req.method, c.req.url, c.res.status, c.res.status >= 400 ? c.res.clone() : undefined)
      )
    if (c.res.status === 401) return
    const now = Date.now()
    if (now - (lastTouched.get(entry.integrationId) ?? 0) < ACTIVITY_INTERVAL_MS) return
    lastTouched.set(entry.integrationId, now)
    // Off the request's path, so not in its metered cost either.
    c.executionCtx.waitUntil(
      touchActivity(createDb(c.env.DB), entry.integrationId, nowIso()).catch((e) =>
        console.error('lastActivityAt update failed', String(e))
      )
    )
  })

const decoded = (text: string) => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

async function logActivity(
  d1: D1Database,
  integrationId: string,
  method: string,
  url: string,
  status: number,
  failure: Response | undefined
) {
  try {
    const { pathname, search } = new URL(url)
    const error = failure ? ((await failure.json().catch(() => ({}))) as { scimType?: unknown; detail?: unknown }) : {}
    await recordActivity(createDb(d1), {
      integrationId,
      at: nowIso(),
      method,
      path: decoded(pathname.replace(/^\/scim\/v2/, '')) + decoded(search),
      status,
      scimType: typeof error.scimType === 'string' ? error.scimType : null,
      detail: typeof error.detail === 'string' ? error.detail : null,
    })
  } catch (e) {
    console.error('activity log write failed', String(e))
  }
}
