import { Webhook } from 'standardwebhooks'
import { open } from '../auth/seal'
import { config } from '../config'
import { nowIso } from '../directory/db'
import { listEvents, type EventType, type FeedEvent } from '../directory/events'
import type { WebhookRow } from '../directory/schema'
import { acquireLease, recordAttempt, releaseLease, skipTo, type Attempt, type DeliveryStatus } from '../directory/webhooks'
import { resolutionProblem, urlProblem } from './url-policy'

/*
 * Sending events to one webhook. Deliveries follow Standard Webhooks (standardwebhooks.com):
 * headers webhook-id, webhook-timestamp and webhook-signature "v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>", signed with the spec's reference library rather than by hand. The body is
 * the event as GET /api/v1/events shows it. One endpoint's events go out one at a time in feed
 * order (a lease in D1 holds off a second deliverer); a failure stops the line and is retried
 * with exponential backoff; after 24 hours of failures the webhook is disabled, its place kept.
 */

export const sealContext = (id: string) => `webhook:${id}`

/** Failing for this long without a success disables the webhook. */
export const DISABLE_AFTER_MS = 24 * 3600_000
/** The longest wait between two attempts. */
const MAX_BACKOFF_S = 3600
const TIMEOUT_MS = 10_000
const LEASE_MS = 60_000
/** One deliverer's share of work before it hands over to a fresh queue message. */
const EVENTS_PER_RUN = 50
const RUN_BUDGET_MS = 20_000
/** Feed pages one run reads at most: a long stretch of unsubscribed events must not exhaust the invocation's D1 queries. */
const PAGES_PER_RUN = 50

/** Seconds before the attempt after `attempts` failures: base, 2 × base, 4 × base … at most an hour. */
export const backoffSeconds = (attempts: number, baseSeconds: number) =>
  Math.min(MAX_BACKOFF_S, baseSeconds * 2 ** Math.max(0, attempts - 1))

/** What an answer means: delivered (2xx); rejected for good (400, 422: this event cannot be taken); else retried. */
export function classify(status: number): DeliveryStatus {
  if (status >= 200 && status < 300) return 'delivered'
  if (status === 400 || status === 422) return 'rejected'
  return 'failed'
}

export interface Outgoing {
  id: string
  type: string
  body: string
}

export const eventMessage = (e: FeedEvent): Outgoing => ({ id: `evt_${e.id}`, type: e.type, body: JSON.stringify(e) })

/** One POST, signed; never throws: a network error or timeout is an attempt like any other. */
export async function post(url: string, secret: string, message: Outgoing): Promise<Attempt> {
  const at = new Date()
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000)
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'scim-directory-webhooks/1',
    'webhook-id': message.id,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': new Webhook(secret).sign(message.id, timestamp, message.body),
  }
  const started = Date.now()
  const base = { eventId: message.id, eventType: message.type, attemptedAt: at.toISOString() }
  try {
    // Redirects are not followed: a 3xx is a failure, so a redirect cannot lead past the URL checks.
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: message.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    await res.body?.cancel()
    const status = classify(res.status)
    const error =
      status === 'delivered'
        ? null
        : res.status >= 300 && res.status < 400
          ? `redirected (${res.status}); redirects are not followed`
          : `answered ${res.status}`
    return { ...base, status, responseStatus: res.status, latencyMs: Date.now() - started, error }
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError'
    return {
      ...base,
      status: 'failed',
      responseStatus: null,
      latencyMs: Date.now() - started,
      error: timedOut ? `no answer within ${TIMEOUT_MS / 1000} s` : `could not connect: ${(e as Error).message}`,
    }
  }
}

/** Why the webhook's URL cannot be delivered to now, or null (the URL rules of url-policy.ts). */
export async function targetProblem(env: Env, url: string): Promise<string | null> {
  const insecure = allowInsecure(env)
  return urlProblem(url, insecure) ?? (await resolutionProblem(url, env.DNS_RESOLVER_URL, insecure))
}

export const allowInsecure = (env: Env) => ['1', 'true', 'yes'].includes(String(env.WEBHOOK_ALLOW_INSECURE ?? '').toLowerCase())

export const openSecret = (env: Env, row: Pick<WebhookRow, 'id' | 'sealedSecret'>) => open(env, row.sealedSecret, sealContext(row.id))

/**
 * Delivers what the webhook has not had yet, in order, until the feed is exhausted, a delivery
 * fails or this run's share is used. Returns the retry delay in seconds when one failed, or
 * 'more' when it stopped with events left, for the queue consumer to schedule.
 */
export async function deliverWebhook(env: Env, id: string): Promise<{ retryInSeconds?: number; more?: boolean }> {
  const start = Date.now()
  const lease = await acquireLease(env.DB, id, nowIso(), new Date(start + LEASE_MS).toISOString())
  if (!lease) return {}
  let outcome: { retryInSeconds?: number; more?: boolean } = {}
  try {
    outcome = await deliverLeased(env, lease, start)
  } finally {
    const behind = await releaseLease(env.DB, id)
    if (behind && outcome.retryInSeconds === undefined) outcome.more = true
  }
  return outcome
}

async function deliverLeased(env: Env, row: WebhookRow, start: number) {
  const types = JSON.parse(row.types) as EventType[]
  let cursor = row.cursor
  let sent = 0
  let checked: string | null | undefined
  let secret: string | undefined
  for (let pages = 0; pages < PAGES_PER_RUN && sent < EVENTS_PER_RUN && Date.now() - start < RUN_BUDGET_MS; pages++) {
    const page = await listEvents(env.DB, { after: cursor, limit: Math.min(20, EVENTS_PER_RUN - sent), types })
    for (const event of page.data) {
      // Checked once per run, before the first send: a name re-pointed at a private address stops here.
      checked ??= await targetProblem(env, row.url)
      secret ??= await openSecret(env, row)
      const attempt = checked
        ? {
            eventId: `evt_${event.id}`,
            eventType: event.type,
            status: 'failed' as const,
            responseStatus: null,
            latencyMs: 0,
            error: `refused: the URL ${checked}`,
            attemptedAt: nowIso(),
          }
        : await post(row.url, secret, eventMessage(event))
      sent++
      if (attempt.status !== 'failed') {
        await recordAttempt(env.DB, row.id, attempt, { advanceTo: Number(event.id) })
        cursor = Number(event.id)
        continue
      }
      return { retryInSeconds: await recordFailure(env, row, attempt) }
    }
    const reached = Number(page.nextCursor)
    if (reached > cursor) {
      // The page read past events of other types: the cursor moves over them too.
      if (page.data.length === 0 || reached > Number(page.data[page.data.length - 1]!.id)) await skipTo(env.DB, row.id, reached)
      cursor = reached
    }
    if (!page.hasMore) return {}
  }
  return { more: true }
}

/** Records a failed attempt: backs off, or after 24 hours of failures disables the webhook, keeping its place. */
async function recordFailure(env: Env, row: WebhookRow, attempt: Attempt): Promise<number | undefined> {
  const failingSince = row.failingSince ?? attempt.attemptedAt
  if (Date.parse(attempt.attemptedAt) - Date.parse(failingSince) >= DISABLE_AFTER_MS) {
    const reason =
      `Disabled after failing for 24 hours (since ${failingSince}); last attempt: ${attempt.error}. ` +
      'Fix the endpoint and PATCH {"enabled": true}: delivery resumes with this event.'
    await recordAttempt(env.DB, row.id, { ...attempt, status: 'dead' }, { disable: reason })
    return undefined
  }
  const delay = backoffSeconds(row.attempts + 1, config(env).webhookRetryBaseSeconds)
  await recordAttempt(env.DB, row.id, attempt, { retryAt: new Date(Date.parse(attempt.attemptedAt) + delay * 1000).toISOString() })
  return delay
}
