import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { SCIM_MEDIA_TYPE } from '../scim/constants'

/** A SCIM response: c.json() would say application/json, RFC 7644 §3.1 wants application/scim+json. */
export function scimJson(c: Context, body: unknown, status: ContentfulStatusCode = 200, headers: Record<string, string> = {}) {
  return c.body(JSON.stringify(body), status, { 'Content-Type': SCIM_MEDIA_TYPE, ...headers })
}

/** The SCIM base URL clients use, derived from the request so it is right behind any hostname. */
export const scimBaseUrl = (c: Context) => `${new URL(c.req.url).origin}/scim/v2`
