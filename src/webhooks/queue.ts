import * as z from 'zod'
import { nowIso } from '../directory/db'
import { deliverWebhook } from './deliver'
import { dueWebhooks } from '../directory/webhooks'

/*
 * The delivery queue (WEBHOOK_QUEUE, consumed by this Worker). Two messages: a "kick" after
 * anything may have written events (a request that wrote rows, an import step, the cron), which
 * makes the consumer look for webhooks behind the feed; and "webhook", which delivers one webhook,
 * sent delayed to retry after a failure or at once to carry on a long backlog. At-least-once: the cursor in D1
 * moves only after a receiver's 2xx, so a message lost or repeated loses or reorders nothing.
 */

const messageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('kick') }),
  z.object({ kind: z.literal('webhook'), id: z.string() }),
])
export type DeliveryMessage = z.infer<typeof messageSchema>

/*
 * Kicks are sent delayed by a second, and an isolate sends at most one a second: a write that
 * commits well before its isolate's pending kick is consumed (MARGIN_MS ahead) is seen by that kick,
 * so skipping its own loses nothing, and a burst of writes costs one message, not one each.
 */
const KICK_DELAY_S = 1
const MARGIN_MS = 250
/** This isolate's latest kick: when it will be consumed, and whether it was sent. */
let pending: { at: number; sent: Promise<boolean> } | null = null

/** Wakes the deliverer; never fails the caller (a lost kick is caught up by the next one or the cron). */
export async function kickWebhooks(env: Env): Promise<void> {
  const now = Date.now()
  // Covered by the pending kick, unless sending it failed: then this write sends its own.
  if (pending && now < pending.at - MARGIN_MS && (await pending.sent)) return
  const sent = env.WEBHOOK_QUEUE.send({ kind: 'kick' } satisfies DeliveryMessage, { delaySeconds: KICK_DELAY_S }).then(
    () => true,
    (e: unknown) => {
      console.log(JSON.stringify({ msg: 'webhook kick not sent', error: String(e) }))
      return false
    }
  )
  pending = { at: now + KICK_DELAY_S * 1000, sent }
  await sent
}

export async function handleDeliveries(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const ids = new Set<string>()
  let kicked = false
  for (const m of batch.messages) {
    const parsed = messageSchema.safeParse(m.body)
    if (!parsed.success) continue
    if (parsed.data.kind === 'kick') kicked = true
    else ids.add(parsed.data.id)
  }
  if (kicked) for (const id of await dueWebhooks(env.DB, nowIso())) ids.add(id)
  // Webhooks in parallel, each one in order.
  const follow = await Promise.all(
    [...ids].map(async (id) => {
      const r = await deliverWebhook(env, id)
      if (r.retryInSeconds !== undefined) return { body: { kind: 'webhook', id } as DeliveryMessage, delaySeconds: r.retryInSeconds }
      if (r.more) return { body: { kind: 'webhook', id } as DeliveryMessage }
      return null
    })
  )
  const next = follow.filter((f) => f !== null)
  if (next.length > 0) await env.WEBHOOK_QUEUE.sendBatch(next)
  batch.ackAll()
}
