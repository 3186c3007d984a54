import { Hono, type Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { html } from 'hono/html'
import { connectIntegration, getIntegration, takeConsentStart } from '../directory/integrations'
import type { AppEnv } from '../http/context'
import { seal } from '../auth/seal'
import {
  completeGoogleConsent,
  CONSENT_COOKIE,
  CONSENT_COOKIE_MAX_AGE_S,
  consentRedirect,
  openStartTicket,
  readConsentCallback,
} from '../sync/consent'
import { entraConfigSchema, sealContext } from '../sync/source'

const page = (title: string, message: string) =>
  html`<!doctype html>
    <html lang="en">
      <meta charset="utf-8" /><title>${title}</title>
      <body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
        <h1>${title}</h1>
        <p>${message}</p>
      </body>
    </html>`

const COOKIE_PATH = '/api/v1/oauth'

/** The browser's consent nonce, read once: a callback, whatever its outcome, ends the flow. */
function takeBrowserNonce(c: Context<AppEnv>): string | undefined {
  const nonce = getCookie(c, CONSENT_COOKIE)
  if (nonce !== undefined) deleteCookie(c, CONSENT_COOKIE, { path: COOKIE_PATH })
  return nonce
}

/** Plain http is allowed on a local host only, where `wrangler dev` runs; everywhere else the cookie is Secure. */
function isLocalHttp(url: URL) {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
}

/**
 * The consent flows' public end (the browser carries no admin token). The start link the admin
 * API handed out opens once, and leaves a cookie the callback needs beside the sealed state.
 */
export const oauthRoutes = new Hono<AppEnv>({ strict: false })
  .get('/start', async (c) => {
    const ticket = await openStartTicket(c.env, c.req.query('ticket'))
    if ('reason' in ticket) return c.html(page('Not started', ticket.reason), 400)
    if (!(await takeConsentStart(c.get('db'), ticket.integrationId, ticket.nonceHash)))
      return c.html(
        page(
          'Not started',
          'This sign-in link was already opened, or a newer one replaced it; each link works once. Nothing was changed. Start again from the integration.'
        ),
        400
      )
    const url = new URL(c.req.url)
    const next = await consentRedirect(c.env, url.origin, ticket)
    // Lax, not Strict: the callback is a top-level navigation from Microsoft's or Google's site.
    setCookie(c, CONSENT_COOKIE, next.browserNonce, {
      path: COOKIE_PATH,
      httpOnly: true,
      secure: !isLocalHttp(url),
      sameSite: 'Lax',
      maxAge: CONSENT_COOKIE_MAX_AGE_S,
    })
    return c.redirect(next.url, 302)
  })
  .get('/microsoft/callback', async (c) => {
    const outcome = await readConsentCallback(c.env, c.req.query(), takeBrowserNonce(c))
    if (!outcome.ok) return c.html(page('Not connected', outcome.reason), 400)
    const db = c.get('db')
    const row = await getIntegration(db, outcome.integrationId)
    const previous = row.config ? entraConfigSchema.safeParse(JSON.parse(row.config)) : undefined
    const previousTenant = previous?.success ? previous.data.tenantId : undefined
    // A leaked link must not re-point an integration at another tenant: that takes a
    // re-authentication started to say so.
    if (previousTenant && previousTenant.toLowerCase() !== outcome.tenantId.toLowerCase() && !outcome.allowTenantChange)
      return c.html(
        page(
          'Not connected',
          `"${row.name}" reads tenant ${previousTenant}, and this consent came from tenant ${outcome.tenantId}. Nothing was changed. To move the integration to another tenant, start again with GET /api/v1/integrations/${row.id}/connect?changeTenant=true and open the link it returns.`
        ),
        409
      )
    // Already connected through consent to the same tenant (the app is always the deployment's own):
    // keep syncing incrementally. Otherwise list everything again.
    const sameSource = previous?.success && previous.data.mode === 'consent' && previous.data.tenantId === outcome.tenantId
    const tenantChanged = previousTenant !== undefined && previousTenant.toLowerCase() !== outcome.tenantId.toLowerCase()
    await connectIntegration(db, row.id, { mode: 'consent', tenantId: outcome.tenantId, consentedAt: new Date().toISOString() }, null, {
      restartListing: !sameSource,
      tenantChanged,
    })
    return c.html(
      page(
        'Connected',
        `"${row.name}" can now read the users and groups of tenant ${outcome.tenantId}. Its first import starts with the next "Sync users now" or within four hours.${
          tenantChanged
            ? ` It moved from tenant ${previousTenant}: that import archives no user of the old tenant until you approve it.`
            : ''
        }`
      )
    )
  })
  // Google: the code becomes the admin's refresh token, sealed; the users stay on re-authentication.
  .get('/google/callback', async (c) => {
    const outcome = await completeGoogleConsent(c.env, new URL(c.req.url).origin, c.req.query(), takeBrowserNonce(c))
    if (!outcome.ok) return c.html(page('Not connected', outcome.reason), 400)
    const db = c.get('db')
    const row = await getIntegration(db, outcome.integrationId)
    const sealedSecrets = await seal(c.env, JSON.stringify({ refreshToken: outcome.refreshToken }), sealContext(row.id))
    await connectIntegration(
      db,
      row.id,
      { mode: 'oauth', adminEmail: outcome.adminEmail, customerId: 'my_customer', consentedAt: new Date().toISOString() },
      sealedSecrets,
      { restartListing: false }
    )
    return c.html(page('Connected', `"${row.name}" now reads the Google Workspace directory as ${outcome.adminEmail}.`))
  })
