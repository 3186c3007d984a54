import { Hono } from 'hono'
import { html } from 'hono/html'
import { connectIntegration, getIntegration } from '../directory/integrations'
import type { AppEnv } from '../http/context'
import { seal } from '../auth/seal'
import { completeGoogleConsent, readConsentCallback } from '../sync/consent'
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

/**
 * Where Microsoft sends the admin back after consent. Public (the browser carries no admin token):
 * the sealed, expiring state is what ties the callback to the integration that asked.
 */
export const oauthRoutes = new Hono<AppEnv>({ strict: false })
  .get('/microsoft/callback', async (c) => {
    const outcome = await readConsentCallback(c.env, c.req.query())
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
          `"${row.name}" reads tenant ${previousTenant}, and this consent came from tenant ${outcome.tenantId}. Nothing was changed. To move the integration to another tenant, start again with GET /api/v1/integrations/${row.id}/connect?changeTenant=true.`
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
    const outcome = await completeGoogleConsent(c.env, new URL(c.req.url).origin, c.req.query())
    if (!outcome.ok) return c.html(page('Not connected', outcome.reason), 400)
    const db = c.get('db')
    const row = await getIntegration(db, outcome.integrationId)
    const sealedSecrets = await seal(c.env.ENCRYPTION_KEY, JSON.stringify({ refreshToken: outcome.refreshToken }), sealContext(row.id))
    await connectIntegration(
      db,
      row.id,
      { mode: 'oauth', adminEmail: outcome.adminEmail, customerId: 'my_customer', consentedAt: new Date().toISOString() },
      sealedSecrets,
      { restartListing: false }
    )
    return c.html(page('Connected', `"${row.name}" now reads the Google Workspace directory as ${outcome.adminEmail}.`))
  })
