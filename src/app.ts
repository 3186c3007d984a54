import { Hono } from 'hono'
import { oauthRoutes } from './admin/oauth'
import { adminRoutes } from './admin/routes'
import type { AppEnv } from './http/context'
import { renderError, renderNotFound } from './http/errors'
import { metering } from './http/metering'
import { scimBaseUrl } from './http/respond'
import { scimRoutes } from './http/scim'

/** The HTTP surface: SCIM under /scim/v2, the admin API under /api/v1. */
export function createApp() {
  const app: Hono<AppEnv> = new Hono<AppEnv>({ strict: false })
  return app
    .use(async (c, next) => {
      c.set('dispatch', (request) => Promise.resolve(app.fetch(request, c.env, c.executionCtx)))
      await next()
    })
    .use(metering())
    .get('/', (c) => c.json({ service: 'scim-directory', scimUrl: scimBaseUrl(c), adminApi: `${new URL(c.req.url).origin}/api/v1` }))
    .route('/scim/v2', scimRoutes)
    // Before the admin API: Microsoft's redirect back carries no admin token.
    .route('/api/v1/oauth', oauthRoutes)
    .route('/api/v1', adminRoutes)
    .notFound(renderNotFound)
    .onError(renderError)
}
