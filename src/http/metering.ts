import { createMiddleware } from 'hono/factory'
import { createDb, meteredD1, newCost } from '../directory/db'
import type { AppEnv } from './context'

/** Gives the request a D1 handle that counts rows read/written, and reports them in response headers. */
export const metering = () =>
  createMiddleware<AppEnv>(async function metering(c, next) {
    const cost = newCost()
    c.set('cost', cost)
    const d1 = meteredD1(c.env.DB, cost)
    c.set('d1', d1)
    c.set('db', createDb(d1))
    await next()
    c.res.headers.set('X-D1-Queries', String(cost.queries))
    c.res.headers.set('X-D1-Rows-Read', String(cost.rowsRead))
    c.res.headers.set('X-D1-Rows-Written', String(cost.rowsWritten))
  })
