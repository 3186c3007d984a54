// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; they are declared here.
declare namespace Cloudflare {
  interface Env {
    /** Bearer credential of the admin API (`wrangler secret put ADMIN_TOKEN`; `npm start` writes one to .dev.vars). */
    ADMIN_TOKEN?: string
    /** 32 random bytes, base64: seals secrets that must be read back (`npm start` writes one to .dev.vars). */
    ENCRYPTION_KEY?: string
    /** The key being retired during a rotation (SECURITY.md): opens what it sealed, seals nothing. */
    ENCRYPTION_KEY_PREVIOUS?: string
    /** The deployment's multi-tenant Microsoft app, for "Sign in with Azure" (admin consent). */
    MS_CLIENT_ID?: string
    MS_CLIENT_SECRET?: string
    /** The deployment's Google OAuth client, for admin sign-in with offline access. */
    GOOGLE_CLIENT_ID?: string
    GOOGLE_CLIENT_SECRET?: string
    /**
     * Cloudflare Access in front of /admin: the team domain (example.cloudflareaccess.com) and the
     * application's audience tag. With both set, the console trusts a verified Access JWT instead of
     * the admin-token sign-in. ACCESS_CERTS_URL overrides where the signing keys are fetched from.
     */
    ACCESS_TEAM_DOMAIN?: string
    ACCESS_AUD?: string
    ACCESS_CERTS_URL?: string
    /** "1" allows webhooks to http: and local addresses: local development only (`npm start` sets it). */
    WEBHOOK_ALLOW_INSECURE?: string
  }
}
