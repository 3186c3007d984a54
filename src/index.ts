import { createApp } from './app'
import { config } from './config'
import { pruneEvents } from './directory/events'
import { startDueRuns } from './sync/cron'

export { DirectorySyncWorkflow } from './sync/workflow'

const app = createApp()

export default {
  fetch: app.fetch,
  // Cron `0 */4 * * *`: start the native imports that are due, and prune the change feed.
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(startDueRuns(env).then((r) => console.log(JSON.stringify({ msg: 'cron', ...r }))))
    ctx.waitUntil(
      pruneEvents(env.DB, config(env).eventsRetentionDays).then((removed) => console.log(JSON.stringify({ msg: 'events pruned', removed })))
    )
  },
} satisfies ExportedHandler<Env>
