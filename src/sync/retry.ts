import { SyncError } from './errors'

/** How hard an API call tries before the step fails (and the Workflow's own step retry takes over). */
export interface RetryPolicy {
  attempts: number
  /** First backoff for 5xx and network errors; doubles per attempt. */
  baseDelayMs: number
  /** Longest Retry-After honoured; a longer one fails the call instead of stalling the run. */
  maxWaitMs: number
  sleep: (ms: number) => Promise<void>
}

export const defaultRetryPolicy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 5,
  baseDelayMs: 1000,
  maxWaitMs: 60_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ...overrides,
})

/**
 * A response's Retry-After: seconds, or an HTTP date. A date is on the server's clock, so it is
 * measured from the response's own Date header where there is one: a server whose clock is minutes
 * off ours would otherwise ask for minutes of waiting, or none.
 */
export function retryAfterMs(res: Response): number | undefined {
  const header = res.headers.get('retry-after')
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  if (Number.isNaN(date)) return undefined
  const sent = Date.parse(res.headers.get('date') ?? '')
  return Math.max(0, date - (Number.isNaN(sent) ? Date.now() : sent))
}

/** A request that never got a response: refused, reset, timed out, a name that did not resolve. */
class Unreachable extends Error {
  override name = 'Unreachable'
}

/**
 * A fetch whose failures to get any response are Unreachable, however the runtime words them (Node's
 * undici throws a TypeError; workerd may throw a plain Error reading "internal error; reference =
 * …"), so withRetries retries them and the run's error names the host instead of the runtime's words.
 */
export function reaching(fetcher: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetcher(input, init)
    } catch (e) {
      const host = new URL(input instanceof Request ? input.url : String(input)).host
      const cause = e instanceof Error ? e.message : String(e)
      throw new Unreachable(`could not reach ${host} (no response: ${cause})`)
    }
  }
}

/**
 * Runs `call` until it returns; `classify` says whether a failed response is worth another try and
 * after how long. Network errors (fetch throwing, see reaching()) back off like 503s.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  what: string,
  call: (attempt: number) => Promise<{ done: true; value: T } | { done: false; waitMs?: number; error: SyncError }>
): Promise<T> {
  let last: SyncError | undefined
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let outcome
    try {
      outcome = await call(attempt)
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e
      const error = new SyncError(`${what}: ${e.message}. Check that the Worker can reach it; the next run tries again.`, 'network')
      outcome = { done: false as const, error }
    }
    if (outcome.done) return outcome.value
    last = outcome.error
    if (attempt === policy.attempts) break
    const wait = outcome.waitMs ?? policy.baseDelayMs * 2 ** (attempt - 1)
    if (wait > policy.maxWaitMs)
      throw new SyncError(
        `${outcome.error.message} The service asked to wait ${Math.round(wait / 1000)} s, longer than this run waits.`,
        outcome.error.kind
      )
    await policy.sleep(wait)
  }
  throw new SyncError(`${last!.message} Gave up after ${policy.attempts} attempts.`, last!.kind)
}

const NOT_JSON = Symbol('not JSON')

/**
 * A successful response's body, or, when it is not JSON (cut short, or an HTML page from a proxy in
 * its place), the try to make again: that is seldom the API's real answer, and never a page to
 * import or to conclude anything from.
 */
export async function jsonOf(res: Response, what: string): Promise<{ json: unknown } | { done: false; error: SyncError }> {
  const json = await res.json().catch(() => NOT_JSON)
  if (json !== NOT_JSON) return { json }
  const type = res.headers.get('content-type') ?? 'no content type'
  return { done: false, error: new SyncError(`${what} sent a response that is not JSON (HTTP ${res.status}, ${type}).`, 'protocol') }
}
