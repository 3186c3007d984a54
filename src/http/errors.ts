import type { ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { ScimError, clientError, internalError, notFound } from '../scim/errors'

/**
 * Every error leaves as RFC 7644 error JSON. Anything that is not a ScimError is a bug on our side:
 * logged in full, answered with a generic 500 that leaks nothing.
 */
export const renderError: ErrorHandler = (err, c) => {
  if (err instanceof ScimError) return err.getResponse()
  if (err instanceof HTTPException && err.status < 500) return clientError(err.status, err.message || 'Bad request.').getResponse()
  console.error(
    JSON.stringify({
      msg: 'unhandled error',
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      error: String(err),
      stack: (err as Error).stack,
    })
  )
  return internalError('The server failed to handle this request. It has been logged; retrying may help.').getResponse()
}

export const renderNotFound: NotFoundHandler = (c) =>
  notFound(
    `No such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}. The SCIM API is under /scim/v2, the admin API under /api/v1.`
  ).getResponse()
