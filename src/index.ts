import { createApp } from './app'
import { resumeDeletions } from './admin/integration-deletion'
import { config } from './config'
import { pruneEvents } from './directory/events'
import { startDueRuns } from './sync/cron'

export { DirectorySyncWorkflow } from './sync/workflow'
export { IntegrationDeletionWorkflow } from './admin/integration-deletion'

const app = createApp()

export default {
  fetch: app.fetch,
  // Cron `0 */4 * * *`: start the native imports that are due, carry on deletions whose Workflow died,
  // and prune the change feed.
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(startDueRuns(env).then((r) => console.log(JSON.stringify({ msg: 'cron', ...r }))))
    ctx.waitUntil(resumeDeletions(env).then((resumed) => console.log(JSON.stringify({ msg: 'deletions resumed', resumed }))))
    ctx.waitUntil(
      pruneEvents(env.DB, config(env).eventsRetentionDays).then((removed) => console.log(JSON.stringify({ msg: 'events pruned', removed })))
    )
  },
} satisfies ExportedHandler<Env>
