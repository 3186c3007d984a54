import { createApp } from './app'
import { resumeDeletions } from './admin/integration-deletion'
import { resealAll } from './admin/reseal'
import { config } from './config'
import { pruneActivity } from './directory/activity'
import { createDb } from './directory/db'
import { pruneEvents } from './directory/events'
import { startDueRuns } from './sync/cron'
import { handleDeliveries, kickWebhooks } from './webhooks/queue'
import { pruneDeliveries } from './directory/webhooks'

export { DirectorySyncWorkflow } from './sync/workflow'
export { IntegrationDeletionWorkflow } from './admin/integration-deletion'

const app = createApp()

export default {
  fetch: app.fetch,
  // Webhook deliveries (src/webhooks/queue.ts).
  queue: handleDeliveries,
  // Cron `0 */4 * * *`: start the native imports that are due, carry on deletions whose Workflow died,
  // prune the change feed, the delivery records and the SCIM activity log, and wake the webhook deliverer in case a kick was lost.
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(startDueRuns(env).then((r) => console.log(JSON.stringify({ msg: 'cron', ...r }))))
    ctx.waitUntil(resumeDeletions(env).then((resumed) => console.log(JSON.stringify({ msg: 'deletions resumed', resumed }))))
    ctx.waitUntil(
      pruneEvents(env.DB, config(env).eventsRetentionDays).then((removed) => console.log(JSON.stringify({ msg: 'events pruned', removed })))
    )
    ctx.waitUntil(
      pruneDeliveries(env.DB, config(env).eventsRetentionDays).then((removed) =>
        console.log(JSON.stringify({ msg: 'webhook deliveries pruned', removed }))
      )
    )
    ctx.waitUntil(pruneActivity(createDb(env.DB)).then((removed) => console.log(JSON.stringify({ msg: 'activity pruned', removed }))))
    ctx.waitUntil(kickWebhooks(env))
    // During an ENCRYPTION_KEY rotation, what the old key sealed moves to the new one (SECURITY.md).
    if (env.ENCRYPTION_KEY_PREVIOUS)
      ctx.waitUntil(resealAll(env, createDb(env.DB)).then((r) => console.log(JSON.stringify({ msg: 'resealed', ...r }))))
  },
} satisfies ExportedHandler<Env>
