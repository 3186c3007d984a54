import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { SealError } from '../auth/seal'
import { ScimError, clientError, internalError, notFound, unavailable } from '../scim/errors'

// What D1 (or the network under it) says when it failed for now rather than for good: the same
// request may well succeed a moment later, so the client is told 503 and to retry.
const TRANSIENT =
  /D1_ERROR|D1 DB|Network connection lost|timed? ?out|overloaded|storage (operation|caused)|reset because its code was updated|internal error; reference/i

/**
 * Every error leaves as RFC 7644 error JSON. Anything that is not a ScimError is a bug on our side:
 * logged in full with the request id, answered with a 503 (a transient D1 failure) or a 500 that
 * leaks nothing but that id.
 */
export const renderError: ErrorHandler = (err, c) => {
  const id = (c.get('requestId') as string | undefined) ?? 'none'
  const res = errorResponse(err, c, id)
  // An error's response is built anew, without the headers set on the context before it.
  res.headers.set('X-Request-Id', id)
  return res
}

function errorResponse(err: Error, c: Context, id: string): Response {
  if (err instanceof ScimError) return err.getResponse()
  if (err instanceof HTTPException && err.status < 500) return clientError(err.status, err.message || 'Bad request.').getResponse()
  const transient = TRANSIENT.test(String(err))
  console.error(
    JSON.stringify({
      msg: 'unhandled error',
      requestId: id,
      transient,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      error: String(err),
      stack: (err as Error).stack,
    })
  )
  // The deployment's keys do not open a stored secret: the operator's to fix, and the words say how.
  if (err instanceof SealError) return internalError(`${err.message} (request id ${id})`).getResponse()
  // A write is one D1 batch, which commits whole or not at all.
  if (transient)
    return unavailable(
      `The database failed for a moment; retry the request. A write happens whole or not at all, so retrying is safe (request id ${id}).`,
      5
    ).getResponse()
  return internalError(`The server failed to handle this request. It has been logged as request ${id}; retrying may help.`).getResponse()
}

export const renderNotFound: NotFoundHandler = (c) =>
  notFound(
    `No such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}. The SCIM API is under /scim/v2, the admin API under /api/v1.`
  ).getResponse()
