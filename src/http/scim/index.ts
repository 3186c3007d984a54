import { Hono } from 'hono'
import { notFound } from '../../scim/errors'
import type { AppEnv } from '../context'
import { scimAuth } from './auth'
import { discoveryRoutes } from './discovery'
import { createBulkRoutes, type Dispatch } from './bulk'
import { groupRoutes } from './groups'
import { rootSearchRoutes } from './search'
import { userRoutes } from './users'

/** `/scim/v2`: discovery is public; Users and Groups need an integration's bearer token. */
export const createScimRoutes = (dispatch: Dispatch) =>
  new Hono<AppEnv>({ strict: false })
    .route('/', discoveryRoutes)
    // '/Users/*' matches '/Users' itself too: one use each, or the token check would run twice.
    .use('/Users/*', scimAuth())
    .use('/Groups/*', scimAuth())
    .use('/.search', scimAuth())
    .use('/Bulk', scimAuth())
    .route('/Users', userRoutes)
    .route('/Groups', groupRoutes)
    .route('/', rootSearchRoutes)
    .route('/', createBulkRoutes(dispatch))
    // A mounted app's notFound is not inherited (hono-base route()), so unknown SCIM paths end here.
    .all('*', (c) => {
      throw notFound(
        `No SCIM endpoint ${c.req.method} ${new URL(c.req.url).pathname}. Resources are /Users and /Groups; see /ResourceTypes.`
      )
    })
