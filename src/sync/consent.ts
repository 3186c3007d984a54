import { createRemoteJWKSet, jwtVerify } from 'jose'
import * as z from 'zod'
import { textFromBase64Url } from '../base64url'
import { open, seal } from '../auth/seal'
import { secretsEqual, sha256Hex } from '../auth/token'
import { invalidValue } from '../scim/errors'
import { GOOGLE_SCOPES } from './google/client'

/*
 * "Sign in with Azure": Microsoft's admin-consent flow for the deployment's own multi-tenant app
 * (MS_CLIENT_ID / MS_CLIENT_SECRET). Consent grants the app's application permissions in the
 * admin's tenant and redirects back with the tenant id; nothing secret comes back, so the
 * integration records the tenant and uses the deployment's credentials from then on.
 */

const STATE_CONTEXT = 'microsoft-admin-consent'
const GOOGLE_STATE_CONTEXT = 'google-admin-consent'
const START_CONTEXT = 'consent-start'
const LINK_TTL_MS = 15 * 60 * 1000

/*
 * A consent runs in two legs, each sealed (so it cannot be forged or pointed at another
 * integration) and valid for 15 minutes. The admin API hands out a start link on this origin,
 * good for one opening (its nonce's hash is kept on the integration and cleared when opened).
 * Opening it sets a cookie holding a fresh nonce in the admin's browser and redirects to Microsoft
 * or Google with a state carrying that nonce; the callback accepts the state only beside the
 * cookie. A leaked state link, or a start link someone already opened, connects nothing.
 */

const ticketSchema = z.object({
  integrationId: z.string(),
  kind: z.enum(['entra', 'google']),
  exp: z.number(),
  nonce: z.string(),
  allowTenantChange: z.boolean().optional(),
})
const stateSchema = z.object({ integrationId: z.string(), exp: z.number(), nonce: z.string(), allowTenantChange: z.boolean().optional() })

export type StartTicket = { integrationId: string; kind: 'entra' | 'google'; nonceHash: string; allowTenantChange: boolean }

export const consentStartPath = '/api/v1/oauth/start'
/** The cookie that binds a consent to the browser that started it (Path: the OAuth routes only). */
export const CONSENT_COOKIE = 'consent_nonce'
export const CONSENT_COOKIE_MAX_AGE_S = LINK_TTL_MS / 1000

async function openExpiring<T extends { exp: number }>(
  env: Env,
  text: string | undefined,
  context: string,
  schema: z.ZodType<T>
): Promise<T | { reason: string }> {
  let value: T
  try {
    value = schema.parse(JSON.parse(await open(env, text ?? '', context)))
  } catch {
    return { reason: 'The link is not valid. Start again from the integration.' }
  }
  if (value.exp < Date.now()) return { reason: 'The link expired (15 minutes). Start again from the integration.' }
  return value
}

/** Refuses at once a consent this deployment has no app for, saying what to configure. */
export function requireConsentApp(env: Env, kind: 'entra' | 'google') {
  if (kind === 'entra' && (!env.MS_CLIENT_ID || !env.MS_CLIENT_SECRET))
    throw invalidValue(
      'This deployment has no Microsoft app for "Sign in with Azure": set MS_CLIENT_ID and MS_CLIENT_SECRET, or create the integration with your own tenantId, clientId and clientSecret.'
    )
  if (kind === 'google' && (!env.GOOGLE_CLIENT_ID || !env.GOOGLE_CLIENT_SECRET))
    throw invalidValue(
      'This deployment has no Google OAuth client: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or create the integration with a service account.'
    )
}

/**
 * The single-use start link of a consent ("Sign in with Azure / Google", "Re-authenticate"), and
 * the hash the integration keeps until it is opened. Only a link made with `allowTenantChange` may
 * point a connected Entra integration at another tenant (re-pointing resets the delta links, and a
 * full listing of the wrong tenant would archive the right one's users).
 */
export async function consentStartLink(
  env: Env,
  origin: string,
  integrationId: string,
  kind: 'entra' | 'google',
  allowTenantChange = false
): Promise<{ url: string; nonceHash: string; expiresAt: string }> {
  requireConsentApp(env, kind)
  const nonce = crypto.randomUUID()
  const exp = Date.now() + LINK_TTL_MS
  const ticket = await seal(
    env,
    JSON.stringify({ integrationId, kind, exp, nonce, ...(allowTenantChange ? { allowTenantChange } : {}) }),
    START_CONTEXT
  )
  return {
    url: `${origin}${consentStartPath}?ticket=${encodeURIComponent(ticket)}`,
    nonceHash: await sha256Hex(nonce),
    expiresAt: new Date(exp).toISOString(),
  }
}

export async function openStartTicket(env: Env, text: string | undefined): Promise<StartTicket | { reason: string }> {
  const ticket = await openExpiring(env, text, START_CONTEXT, ticketSchema)
  if ('reason' in ticket) return ticket
  return {
    integrationId: ticket.integrationId,
    kind: ticket.kind,
    nonceHash: await sha256Hex(ticket.nonce),
    allowTenantChange: ticket.allowTenantChange === true,
  }
}

/** Where an opened start link sends the browser, and the nonce its cookie must hold on the way back. */
export async function consentRedirect(env: Env, origin: string, ticket: StartTicket): Promise<{ url: string; browserNonce: string }> {
  requireConsentApp(env, ticket.kind)
  const browserNonce = crypto.randomUUID()
  const state = await seal(
    env,
    JSON.stringify({
      integrationId: ticket.integrationId,
      exp: Date.now() + LINK_TTL_MS,
      nonce: browserNonce,
      ...(ticket.allowTenantChange ? { allowTenantChange: true } : {}),
    }),
    ticket.kind === 'entra' ? STATE_CONTEXT : GOOGLE_STATE_CONTEXT
  )
  return { url: ticket.kind === 'entra' ? adminConsentUrl(env, origin, state) : googleConsentUrl(env, origin, state), browserNonce }
}

async function openState(
  env: Env,
  text: string | undefined,
  context: string,
  browserNonce: string | undefined
): Promise<{ integrationId: string; allowTenantChange: boolean } | { reason: string }> {
  const state = await openExpiring(env, text, context, stateSchema)
  if ('reason' in state) return state
  if (!browserNonce || !(await secretsEqual(state.nonce, browserNonce)))
    return {
      reason:
        'This sign-in was not started in this browser (or its cookie expired). Nothing was changed. Start again from the integration, in the browser you finish it in.',
    }
  return { integrationId: state.integrationId, allowTenantChange: state.allowTenantChange === true }
}

export const consentCallbackPath = '/api/v1/oauth/microsoft/callback'

function adminConsentUrl(env: Env, origin: string, state: string): string {
  const url = new URL(`${env.MS_LOGIN_BASE_URL.replace(/\/+$/, '')}/organizations/adminconsent`)
  url.searchParams.set('client_id', env.MS_CLIENT_ID ?? '')
  url.searchParams.set('state', state)
  url.searchParams.set('redirect_uri', `${origin}${consentCallbackPath}`)
  return url.toString()
}

export type ConsentOutcome =
  { ok: true; integrationId: string; tenantId: string; allowTenantChange: boolean } | { ok: false; reason: string }

const tokenSchema = z.object({ access_token: z.string() })
const claimsSchema = z.object({ tid: z.string() })

/**
 * The tenant the query string names, confirmed by Microsoft: a token for it, issued to the
 * deployment's app, whose `tid` claim is that tenant. The query string alone is only the browser's
 * word. The token comes straight from Microsoft's token endpoint over TLS, so its claims are read
 * without verifying its signature (Graph tokens are not meant to be verified by their clients).
 */
async function confirmTenant(env: Env, tenant: string, fetcher: typeof fetch): Promise<{ tenantId: string } | { reason: string }> {
  const res = await fetcher(`${env.MS_LOGIN_BASE_URL.replace(/\/+$/, '')}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: env.MS_CLIENT_ID ?? '',
      client_secret: env.MS_CLIENT_SECRET ?? '',
      scope: 'https://graph.microsoft.com/.default',
    }),
  })
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
  const token = tokenSchema.safeParse(body)
  if (!res.ok || !token.success)
    return {
      reason: `Microsoft would not issue this deployment's app a token for tenant ${tenant} (${res.status} ${String(body.error ?? '')}): consent was not granted there. Start again from the integration.`,
    }
  let claims: z.infer<typeof claimsSchema> | undefined
  try {
    claims = claimsSchema.parse(JSON.parse(textFromBase64Url(token.data.access_token.split('.')[1] ?? '')))
  } catch {
    claims = undefined
  }
  if (!claims || claims.tid.toLowerCase() !== tenant.toLowerCase())
    return {
      reason: `Microsoft's token for tenant ${tenant} names another tenant (${claims?.tid ?? 'none'}). Start again from the integration.`,
    }
  return { tenantId: claims.tid }
}

/** Reads Microsoft's redirect back: `admin_consent=True&tenant=…&state=…`, or `error=…&error_description=…`. */
export async function readConsentCallback(
  env: Env,
  query: Record<string, string>,
  browserNonce: string | undefined,
  fetcher: typeof fetch = fetch
): Promise<ConsentOutcome> {
  const state = await openState(env, query.state, STATE_CONTEXT, browserNonce)
  if ('reason' in state) return { ok: false, reason: state.reason }
  if (query.error) return { ok: false, reason: `Microsoft did not grant consent: ${query.error_description ?? query.error}` }
  if (query.admin_consent?.toLowerCase() !== 'true' || !query.tenant || !/^[\w.-]+$/.test(query.tenant))
    return { ok: false, reason: 'Microsoft did not confirm admin consent.' }
  const confirmed = await confirmTenant(env, query.tenant, fetcher)
  if ('reason' in confirmed) return { ok: false, reason: confirmed.reason }
  return { ok: true, integrationId: state.integrationId, tenantId: confirmed.tenantId, allowTenantChange: state.allowTenantChange }
}

/*
 * Google: OAuth sign-in of a Workspace admin to the deployment's client (GOOGLE_CLIENT_ID /
 * GOOGLE_CLIENT_SECRET), with offline access so a refresh token comes back; it is sealed and used
 * for every run. The admin's email comes from the ID token of the same exchange.
 */

export const googleCallbackPath = '/api/v1/oauth/google/callback'

/** Google's signing keys, fetched (and cached by jose) from GOOGLE_JWKS_URL, one set per URL per isolate. */
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()
function googleKeys(url: string) {
  let keys = keySets.get(url)
  if (!keys) keySets.set(url, (keys = createRemoteJWKSet(new URL(url))))
  return keys
}
function googleConsentUrl(env: Env, origin: string, state: string): string {
  const url = new URL(env.GOOGLE_AUTH_URL)
  url.searchParams.set('client_id', env.GOOGLE_CLIENT_ID ?? '')
  url.searchParams.set('redirect_uri', `${origin}${googleCallbackPath}`)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('scope', [...GOOGLE_SCOPES, 'openid', 'email'].join(' '))
  url.searchParams.set('access_type', 'offline')
  // Asking again is what makes Google return a refresh token on a re-authentication too.
  url.searchParams.set('prompt', 'consent')
  url.searchParams.set('state', state)
  return url.toString()
}

const googleTokenSchema = z.object({ refresh_token: z.string().optional(), id_token: z.string().optional() })

export type GoogleConsent = { ok: true; integrationId: string; adminEmail: string; refreshToken: string } | { ok: false; reason: string }

/** Reads Google's redirect back and exchanges its code for the admin's refresh token. */
export async function completeGoogleConsent(
  env: Env,
  origin: string,
  query: Record<string, string>,
  browserNonce: string | undefined,
  fetcher: typeof fetch = fetch
): Promise<GoogleConsent> {
  const state = await openState(env, query.state, GOOGLE_STATE_CONTEXT, browserNonce)
  if ('reason' in state) return { ok: false, reason: state.reason }
  if (query.error || !query.code) return { ok: false, reason: `Google did not grant access: ${query.error ?? 'no authorisation code'}.` }
  const res = await fetcher(env.GOOGLE_TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: query.code,
      client_id: env.GOOGLE_CLIENT_ID ?? '',
      client_secret: env.GOOGLE_CLIENT_SECRET ?? '',
      redirect_uri: `${origin}${googleCallbackPath}`,
    }),
  })
  if (!res.ok) return { ok: false, reason: `Google refused the sign-in code (${res.status}). Start again from the integration.` }
  const tokens = googleTokenSchema.safeParse(await res.json())
  if (!tokens.success || !tokens.data.refresh_token)
    return { ok: false, reason: 'Google returned no refresh token, so imports could not run unattended. Start again from the integration.' }
  // The admin's identity comes from the ID token, verified (signature against Google's keys,
  // issuer, audience, expiry) rather than decoded: jose, a maintained JWT library, does the checks.
  let email: string
  try {
    const { payload } = await jwtVerify(tokens.data.id_token ?? '', googleKeys(env.GOOGLE_JWKS_URL), {
      issuer: ['https://accounts.google.com', 'accounts.google.com'],
      audience: env.GOOGLE_CLIENT_ID ?? '',
    })
    email = typeof payload.email === 'string' ? payload.email : 'unknown'
  } catch (e) {
    return { ok: false, reason: `Google's ID token did not verify (${(e as Error).message}). Start again from the integration.` }
  }
  return { ok: true, integrationId: state.integrationId, adminEmail: email, refreshToken: tokens.data.refresh_token }
}
