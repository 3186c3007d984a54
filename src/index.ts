import { createApp } from './app'
import { startDueRuns } from './sync/cron'

export { DirectorySyncWorkflow } from './sync/workflow'

const app = createApp()

export default {
  fetch: app.fetch,
  // Cron `0 */4 * * *`: start the native imports that are due.
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(startDueRuns(env).then((r) => console.log(JSON.stringify({ msg: 'cron', ...r }))))
  },
} satisfies ExportedHandler<Env>
