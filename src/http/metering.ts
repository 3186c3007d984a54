import { createMiddleware } from 'hono/factory'
import { createDb, meteredD1, newCost } from '../directory/db'
import { kickWebhooks } from '../webhooks/queue'
import type { AppEnv } from './context'

/**
 * Gives the request a D1 handle that counts round trips and rows read/written, and reports them in
 * response headers.
 * A request that wrote rows may have written events (the outbox triggers), so it also wakes the
 * webhook deliverer, after the response: a queue message, no D1 round trip on the request.
 */
export const metering = () =>
  createMiddleware<AppEnv>(async function metering(c, next) {
    const cost = newCost()
    c.set('cost', cost)
    const d1 = meteredD1(c.env.DB, cost)
    c.set('d1', d1)
    c.set('db', createDb(d1))
    await next()
    c.res.headers.set('X-D1-Round-Trips', String(cost.roundTrips))
    c.res.headers.set('X-D1-Queries', String(cost.queries))
    c.res.headers.set('X-D1-Rows-Read', String(cost.rowsRead))
    c.res.headers.set('X-D1-Rows-Written', String(cost.rowsWritten))
    if (cost.rowsWritten > 0) waitUntil(c, kickWebhooks(c.env))
  })

// Hono throws when a request has no execution context (a direct app.request in a unit test).
function waitUntil(c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }, p: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(p)
  } catch {
    void p
  }
}
