import { createApp } from './app'

const app = createApp()

export default {
  fetch: app.fetch,
  // Cron `0 */4 * * *` will start the native Graph/Google imports; there are none to run yet.
  async scheduled() {},
} satisfies ExportedHandler<Env>
