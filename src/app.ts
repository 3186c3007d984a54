import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { getPathNoStrict } from 'hono/utils/url'
import { consoleRoutes } from './admin/console/routes'
import { oauthRoutes } from './admin/oauth'
import { adminRoutes } from './admin/routes'
import { webhookRoutes } from './admin/webhooks'
import { apiRoutes } from './api/routes'
import type { AppEnv } from './http/context'
import { renderError, renderNotFound } from './http/errors'
import { metering } from './http/metering'
import { scimBaseUrl } from './http/respond'
import { createScimRoutes } from './http/scim'
import { canonicalPath } from './scim/paths'

const SCIM_BASE = '/scim/v2'

/** The HTTP surface: SCIM under /scim/v2, the admin and application APIs under /api/v1, the console under /admin. */
export function createApp() {
  // Routing sees SCIM endpoint names in canonical case (src/scim/paths.ts) and no trailing slash
  // (what `strict: false` does, which a custom getPath replaces).
  const app: Hono<AppEnv> = new Hono<AppEnv>({ getPath: (request) => canonicalPath(getPathNoStrict(request), SCIM_BASE) })
  return (
    app
      // X-Request-Id on every response (Cloudflare's ray id where there is one), and in every error's log line.
      .use(requestId({ generator: (c) => c.req.header('cf-ray') ?? crypto.randomUUID() }))
      .use(metering())
      // On every response, the console's and the APIs' alike: no sniffing, no framing, no referrer.
      .use(async (c, next) => {
        await next()
        c.res.headers.set('X-Content-Type-Options', 'nosniff')
        if (!c.res.headers.has('X-Frame-Options')) c.res.headers.set('X-Frame-Options', 'DENY')
        if (!c.res.headers.has('Referrer-Policy')) c.res.headers.set('Referrer-Policy', 'no-referrer')
      })
      .get('/', (c) =>
        c.json({
          service: 'scim-directory',
          scimUrl: scimBaseUrl(c),
          adminApi: `${new URL(c.req.url).origin}/api/v1`,
          console: `${new URL(c.req.url).origin}/admin`,
        })
      )
      // Bulk runs each operation through this same app. Passed in rather than set per request: a
      // global middleware for it cost a fifth of a lookup's throughput (npm run bench).
      .route(
        SCIM_BASE,
        createScimRoutes((request, env, ctx) => Promise.resolve(app.fetch(request, env, ctx)))
      )
      // Before the admin API: Microsoft's redirect back carries no admin token.
      .route('/api/v1/oauth', oauthRoutes)
      // Application routes first: the admin API ends in a catch-all.
      .route('/api/v1', apiRoutes)
      .route('/api/v1', webhookRoutes)
      .route('/api/v1', adminRoutes)
      .route('/admin', consoleRoutes)
      .notFound(renderNotFound)
      .onError(renderError)
  )
}
