import { createMiddleware } from 'hono/factory'
import { secretsEqual } from '../auth/token'
import { unauthorized } from '../scim/errors'
import type { AppEnv } from '../http/context'

/** The admin API's own credential: the ADMIN_TOKEN secret, never an integration's token. */
export const adminAuth = () =>
  createMiddleware<AppEnv>(async function adminAuth(c, next) {
    const expected = c.env.ADMIN_TOKEN
    if (!expected) throw unauthorized('The admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN).')
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    if (!match || !(await secretsEqual(match[1]!, expected)))
      throw unauthorized('Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".')
    await next()
  })
