import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { toBase64Url } from '../../base64url'
import { secretsEqual, sha256Hex } from '../../auth/token'
import type { AppEnv } from '../../http/context'

/*
 * Who may use the console. Either the admin token, typed once into /admin/login, buys a session
 * cookie; or, where ACCESS_TEAM_DOMAIN and ACCESS_AUD are set, Cloudflare Access stands in front of
 * /admin and every request carries its signed JWT, which is verified here and no form is needed.
 *
 * A session is a random id in the cookie; KV keeps only its hash (as for every token), with the
 * expiry, so signing out ends it everywhere KV has propagated to, and an admin token rotation
 * (`wrangler secret put ADMIN_TOKEN`) ends every session: the CSRF key is derived from it.
 */

export const SESSION_COOKIE = 'console_session'
export const SESSION_HOURS = 12
const SESSION_MS = SESSION_HOURS * 3600_000
const kvKey = (hash: string) => `console:${hash}`

export interface Caller {
  /** Names the person in the page header: "admin token" or the Access identity's email. */
  who: string
  /** The form token every POST must carry. */
  csrf: string
  /** The session cookie's id (token sign-in only), for signing out. */
  sessionId?: string
}

const randomId = () => toBase64Url(crypto.getRandomValues(new Uint8Array(32)))

/** Plain http is allowed on a local host only, where `wrangler dev` runs; everywhere else the cookie is Secure. */
export function isLocalHttp(url: URL) {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
}

/** The CSRF token of a session: an HMAC of its id under a key only this deployment holds. */
async function csrfFor(env: Env, id: string): Promise<string> {
  const secret = env.ADMIN_TOKEN || env.ENCRYPTION_KEY
  if (!secret) throw new Error('neither ADMIN_TOKEN nor ENCRYPTION_KEY is set')
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(`console-csrf:${secret}`),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  return toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(id))))
}

export const accessConfigured = (env: Env) => Boolean(env.ACCESS_TEAM_DOMAIN && env.ACCESS_AUD)

// One key set per team and isolate: jose caches the keys and refetches on an unknown key id.
const keySets = new Map<string, JWTVerifyGetKey>()

function accessKeys(env: Env): JWTVerifyGetKey {
  const team = env.ACCESS_TEAM_DOMAIN!.replace(/^https?:\/\//, '').replace(/\/+$/, '')
  const url = env.ACCESS_CERTS_URL || `https://${team}/cdn-cgi/access/certs`
  let keys = keySets.get(url)
  if (!keys) keySets.set(url, (keys = createRemoteJWKSet(new URL(url))))
  return keys
}

/** The Access identity of this request, or why there is none. */
async function accessCaller(c: Context<AppEnv>): Promise<Caller | { reason: string }> {
  const jwt = c.req.header('cf-access-jwt-assertion')
  if (!jwt)
    return { reason: 'This console is behind Cloudflare Access, and the request carried no Access token (Cf-Access-Jwt-Assertion).' }
  const team = c.env.ACCESS_TEAM_DOMAIN!.replace(/^https?:\/\//, '').replace(/\/+$/, '')
  try {
    const { payload } = await jwtVerify(jwt, accessKeys(c.env), { issuer: `https://${team}`, audience: c.env.ACCESS_AUD! })
    const who = typeof payload.email === 'string' ? payload.email : String(payload.sub ?? 'Access user')
    // Bound to this one Access token: a form from an older token (a new sign-in) is refused.
    return { who, csrf: await csrfFor(c.env, `access:${await sha256Hex(jwt)}`) }
  } catch (e) {
    return { reason: `The Cloudflare Access token was refused (${(e as Error).message}). Sign in through Access again.` }
  }
}

/** Who is calling, or undefined: no session, an expired or ended one, or an Access token that does not verify. */
export async function currentCaller(c: Context<AppEnv>): Promise<Caller | { reason: string } | undefined> {
  if (accessConfigured(c.env)) return accessCaller(c)
  const id = getCookie(c, SESSION_COOKIE)
  if (!id || id.length > 100) return undefined
  const expires = await c.env.TOKENS.get(kvKey(await sha256Hex(id)))
  if (!expires || Number(expires) < Date.now()) return undefined
  return { who: 'admin token', csrf: await csrfFor(c.env, id), sessionId: id }
}

/** Checks the admin token typed into the sign-in form and, when it is right, opens a session. */
export async function signIn(c: Context<AppEnv>, token: string): Promise<boolean> {
  const expected = c.env.ADMIN_TOKEN
  if (!expected || !(await secretsEqual(token, expected))) return false
  const id = randomId()
  const expires = Date.now() + SESSION_MS
  // KV's own expiry removes it too (it needs at least 60 s ahead, which 12 hours is).
  await c.env.TOKENS.put(kvKey(await sha256Hex(id)), String(expires), { expiration: Math.ceil(expires / 1000) })
  setCookie(c, SESSION_COOKIE, id, {
    path: '/admin',
    httpOnly: true,
    secure: !isLocalHttp(new URL(c.req.url)),
    sameSite: 'Strict',
    maxAge: SESSION_MS / 1000,
  })
  return true
}

export async function signOut(c: Context<AppEnv>, caller: Caller) {
  if (caller.sessionId) await c.env.TOKENS.delete(kvKey(await sha256Hex(caller.sessionId)))
  deleteCookie(c, SESSION_COOKIE, { path: '/admin', secure: !isLocalHttp(new URL(c.req.url)) })
}

/** Compares a form's CSRF token with the session's, in constant time. */
export const csrfHolds = (caller: Caller, sent: unknown) => typeof sent === 'string' && sent.length > 0 && secretsEqual(sent, caller.csrf)
