import * as z from 'zod'
import { fromBase64, toBase64Url } from '../../base64url'
import { SyncError } from '../errors'
import { jsonOf, reaching, retryAfterMs, withRetries, type RetryPolicy } from '../retry'

/** A service account acting as a super admin (domain-wide delegation), or an admin's OAuth grant. */
export type GoogleCredentials =
  | { kind: 'serviceAccount'; serviceAccount: { client_email: string; private_key: string }; adminEmail: string }
  | { kind: 'oauth'; clientId: string; clientSecret: string; refreshToken: string }

export interface GoogleSettings {
  tokenUrl: string
  directoryBaseUrl: string
  credentials: GoogleCredentials
  /** The Workspace customer id, or "my_customer". */
  customerId: string
}

export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.member.readonly',
]

/** Google's usage-limit errors are 403s; they mean "slow down", not "forbidden". */
const RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'quotaExceeded'])

const tokenSchema = z.object({ access_token: z.string(), expires_in: z.coerce.number() })
const errorSchema = z.object({
  error: z.union([
    z.string(),
    z.object({ message: z.string().optional(), errors: z.array(z.object({ reason: z.string().optional() })).optional() }),
  ]),
  error_description: z.string().optional(),
})

async function signingKey(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '')
  try {
    const der = fromBase64(body)
    return await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
  } catch {
    throw new SyncError(
      'The service account private_key is not a PKCS#8 PEM key (paste private_key from the JSON key file as it is).',
      'config'
    )
  }
}

/** Why a service account's private_key cannot sign, or undefined: checked when it is given, not at the first sync. */
export const privateKeyProblem = (pem: string): Promise<string | undefined> =>
  signingKey(pem).then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e.message : String(e))
  )

async function readError(res: Response) {
  try {
    const parsed = errorSchema.safeParse(await res.json())
    if (!parsed.success) return { reason: String(res.status), message: res.statusText }
    const e = parsed.data.error
    if (typeof e === 'string') return { reason: e, message: parsed.data.error_description ?? e }
    return { reason: e.errors?.[0]?.reason ?? String(res.status), message: e.message ?? res.statusText }
  } catch {
    return { reason: String(res.status), message: res.statusText }
  }
}

const ASSERTION_BACKDATE_S = 300

/**
 * The Admin SDK Directory API as a service account with domain-wide delegation: an RS256 JWT
 * (signed with WebCrypto) exchanged for an access token, cached until shortly before it expires;
 * paged GETs with bounded retries on 429, 5xx and Google's 403 rate-limit reasons.
 */
export function googleClient(settings: GoogleSettings, policy: RetryPolicy, fetcher: typeof fetch = fetch) {
  const send = reaching(fetcher)
  const base = settings.directoryBaseUrl.replace(/\/+$/, '')
  let token: { value: string; expires: number } | undefined
  let key: Promise<CryptoKey> | undefined

  /** The token request: a signed JWT for a service account, the refresh token for an OAuth grant. */
  async function tokenRequest(): Promise<URLSearchParams> {
    const c = settings.credentials
    if (c.kind === 'oauth')
      return new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: c.refreshToken,
        client_id: c.clientId,
        client_secret: c.clientSecret,
      })
    key ??= signingKey(c.serviceAccount.private_key)
    // Issued a few minutes back, so that Google accepts it even if its clock is behind ours (it
    // refuses an assertion from its future); the access token's own lifetime is Google's to set.
    const iat = Math.floor(Date.now() / 1000) - ASSERTION_BACKDATE_S
    const unsigned = `${toBase64Url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${toBase64Url(
      JSON.stringify({
        iss: c.serviceAccount.client_email,
        sub: c.adminEmail,
        scope: GOOGLE_SCOPES.join(' '),
        aud: settings.tokenUrl,
        iat,
        exp: iat + 3600,
      })
    )}`
    const signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', await key, new TextEncoder().encode(unsigned)))
    return new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: `${unsigned}.${toBase64Url(signature)}`,
    })
  }

  async function accessToken(): Promise<string> {
    if (token && token.expires > Date.now() + 60_000) return token.value
    const body = await tokenRequest()
    const c = settings.credentials
    const value = await withRetries(policy, 'Google sign-in', async () => {
      const res = await send(settings.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      if (res.ok) {
        const body = await jsonOf(res, 'Google sign-in')
        if (!('json' in body)) return body
        const parsed = tokenSchema.safeParse(body.json)
        if (parsed.success) return { done: true as const, value: parsed.data }
        return { done: false as const, error: new SyncError('Google sign-in returned an unexpected token response.', 'protocol') }
      }
      if (res.status === 429 || res.status >= 500)
        return {
          done: false as const,
          waitMs: retryAfterMs(res),
          error: new SyncError(`Google sign-in is unavailable (${res.status}).`, 'unavailable'),
        }
      const { reason, message } = await readError(res)
      if (c.kind === 'oauth')
        throw new SyncError(
          `Google refused the admin's authorisation (${reason}): ${message}. It was revoked or has expired: re-authenticate the integration (/connect).`,
          'auth'
        )
      const hint =
        reason === 'unauthorized_client'
          ? ` Authorise the service account's client id for the read-only Directory scopes in Admin console → Security → API controls → Domain-wide delegation, and check that ${c.adminEmail} is a super admin.`
          : ''
      throw new SyncError(`Google refused the service account (${reason}): ${message}.${hint}`, 'auth')
    })
    token = { value: value.access_token, expires: Date.now() + value.expires_in * 1000 }
    return token.value
  }

  /**
   * One page of a listing whose responses carry `kind` (admin#directory#users…). Google sends it on
   * every page, empty ones too, so a 200 without it is not Google's page (a gateway's `{}`, a
   * changed schema) and is tried again: taken as an empty last page, it would end the listing early
   * and the users on the pages never read would look gone.
   */
  async function get(path: string, kind: string, params: Record<string, string | undefined>): Promise<Record<string, unknown>> {
    const url = new URL(`${base}${path}`)
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v)
    let refreshed = false
    return withRetries(policy, 'Google Directory API', async () => {
      const res = await send(url.toString(), { headers: { authorization: `Bearer ${await accessToken()}`, accept: 'application/json' } })
      if (res.ok) {
        const body = await jsonOf(res, 'Google Directory API')
        if (!('json' in body)) return body
        if (typeof body.json === 'object' && body.json !== null && 'kind' in body.json && body.json.kind === kind)
          return { done: true as const, value: body.json as Record<string, unknown> }
        return { done: false as const, error: new SyncError(`Google Directory API returned an unexpected page from ${path}.`, 'protocol') }
      }
      const retryAfter = retryAfterMs(res)
      const { reason, message } = await readError(res)
      if (res.status === 401 && !refreshed) {
        refreshed = true
        token = undefined
        return { done: false as const, waitMs: 0, error: new SyncError('Google rejected the access token.', 'auth') }
      }
      if (res.status === 429 || (res.status === 403 && RATE_LIMIT_REASONS.has(reason)))
        return {
          done: false as const,
          waitMs: retryAfter,
          error: new SyncError(`Google is rate-limiting this service account (${reason}).`, 'throttled'),
        }
      if (res.status >= 500)
        return {
          done: false as const,
          waitMs: retryAfter,
          error: new SyncError(`The Google Directory API is unavailable (${res.status}).`, 'unavailable'),
        }
      throw new SyncError(
        `The Google Directory API answered ${res.status} (${reason}): ${message}`,
        res.status === 403 || res.status === 401 ? 'auth' : res.status === 404 ? 'notFound' : 'protocol'
      )
    })
  }

  const customer = settings.customerId || 'my_customer'
  return {
    users: (pageToken?: string) =>
      get('/admin/directory/v1/users', 'admin#directory#users', { customer, maxResults: '500', projection: 'full', pageToken }),
    groups: (pageToken?: string) => get('/admin/directory/v1/groups', 'admin#directory#groups', { customer, maxResults: '200', pageToken }),
    /** A group's direct members; `derived`: everyone in it however nested (a scoped run's listing). */
    members: (groupId: string, pageToken?: string, options: { derived?: boolean } = {}) =>
      get(`/admin/directory/v1/groups/${encodeURIComponent(groupId)}/members`, 'admin#directory#members', {
        maxResults: '200',
        includeDerivedMembership: options.derived ? 'true' : 'false',
        pageToken,
      }),
  }
}

export type GoogleClient = ReturnType<typeof googleClient>
