import { ScimError } from '../scim/errors'

/*
 * Failed authentications per client address. Every failure (a wrong, revoked or malformed
 * credential, or none) is counted by the Workers Rate Limiting binding FAILED_AUTH, keyed by the
 * address Cloudflare saw (CF-Connecting-IP); a client past its limit gets 429 for BLOCK_MS, with
 * its next requests refused before any credential check in this isolate. A valid IdP or
 * application never fails authentication, so it is never counted, whatever its load. A request
 * without CF-Connecting-IP (tests, a local tool calling the Worker directly) is not counted.
 */

const BLOCK_MS = 60_000
const blocked = new Map<string, number>()
const MAX_BLOCKED = 10_000

const address = (request: Request) => request.headers.get('cf-connecting-ip') ?? undefined

const tooManyFailures = (retryAfterS: number) =>
  new ScimError(
    429,
    'Too many failed authentications from this address. Check the token or key you send, then try again in a minute.',
    undefined,
    { 'Retry-After': String(retryAfterS) }
  )

/** Refuses at once a client this isolate saw go past its limit within the last minute. */
export function refuseIfBlocked(request: Request) {
  const ip = address(request)
  if (ip === undefined) return
  const until = blocked.get(ip)
  if (until === undefined) return
  if (until <= Date.now()) blocked.delete(ip)
  else throw tooManyFailures(Math.ceil((until - Date.now()) / 1000))
}

/**
 * Counts a failed authentication, then throws `refusal` (the 401 saying what was wrong), or a 429
 * once the address is past its limit.
 */
export async function failedAuth(env: Env, request: Request, refusal: ScimError): Promise<never> {
  const ip = address(request)
  if (ip !== undefined && env.FAILED_AUTH) {
    const { success } = await env.FAILED_AUTH.limit({ key: ip })
    if (!success) {
      if (blocked.size >= MAX_BLOCKED) blocked.clear()
      blocked.set(ip, Date.now() + BLOCK_MS)
      throw tooManyFailures(BLOCK_MS / 1000)
    }
  }
  throw refusal
}
