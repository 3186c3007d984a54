// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; they are declared here.
declare namespace Cloudflare {
  interface Env {
    /** Bearer credential of the admin API (`wrangler secret put ADMIN_TOKEN`; `npm start` writes one to .dev.vars). */
    ADMIN_TOKEN?: string
  }
}
