import * as z from 'zod'
import { open, seal } from '../auth/seal'
import { invalidValue } from '../scim/errors'

/*
 * "Sign in with Azure": Microsoft's admin-consent flow for the deployment's own multi-tenant app
 * (MS_CLIENT_ID / MS_CLIENT_SECRET). Consent grants the app's application permissions in the
 * admin's tenant and redirects back with the tenant id; nothing secret comes back, so the
 * integration records the tenant and uses the deployment's credentials from then on.
 */

const STATE_CONTEXT = 'microsoft-admin-consent'
const STATE_TTL_MS = 15 * 60 * 1000

const stateSchema = z.object({ integrationId: z.string(), exp: z.number(), nonce: z.string() })

export const consentCallbackPath = '/api/v1/oauth/microsoft/callback'

/** The admin-consent URL for one integration; its state is sealed, so it cannot be forged or reused elsewhere. */
export async function adminConsentUrl(env: Env, origin: string, integrationId: string): Promise<string> {
  if (!env.MS_CLIENT_ID || !env.MS_CLIENT_SECRET)
    throw invalidValue('This deployment has no Microsoft app for "Sign in with Azure": set MS_CLIENT_ID and MS_CLIENT_SECRET, or create the integration with your own tenantId, clientId and clientSecret.')
  const state = await seal(env.ENCRYPTION_KEY, JSON.stringify({ integrationId, exp: Date.now() + STATE_TTL_MS, nonce: crypto.randomUUID() }), STATE_CONTEXT)
  const url = new URL(`${env.MS_LOGIN_BASE_URL.replace(/\/+$/, '')}/organizations/adminconsent`)
  url.searchParams.set('client_id', env.MS_CLIENT_ID)
  url.searchParams.set('state', state)
  url.searchParams.set('redirect_uri', `${origin}${consentCallbackPath}`)
  return url.toString()
}

export type ConsentOutcome = { ok: true; integrationId: string; tenantId: string } | { ok: false; integrationId?: string; reason: string }

/** Reads Microsoft's redirect back: `admin_consent=True&tenant=…&state=…`, or `error=…&error_description=…`. */
export async function readConsentCallback(env: Env, query: Record<string, string>): Promise<ConsentOutcome> {
  let state: z.infer<typeof stateSchema>
  try {
    state = stateSchema.parse(JSON.parse(await open(env.ENCRYPTION_KEY, query.state ?? '', STATE_CONTEXT)))
  } catch {
    return { ok: false, reason: 'The consent link is not valid. Start again from the integration.' }
  }
  if (state.exp < Date.now()) return { ok: false, integrationId: state.integrationId, reason: 'The consent link expired (15 minutes). Start again from the integration.' }
  if (query.error) return { ok: false, integrationId: state.integrationId, reason: `Microsoft did not grant consent: ${query.error_description ?? query.error}` }
  if (query.admin_consent?.toLowerCase() !== 'true' || !query.tenant || !/^[\w.-]+$/.test(query.tenant))
    return { ok: false, integrationId: state.integrationId, reason: 'Microsoft did not confirm admin consent.' }
  return { ok: true, integrationId: state.integrationId, tenantId: query.tenant }
}
