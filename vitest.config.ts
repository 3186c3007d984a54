import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { ACCESS_HOST, FakeAccess } from './test/fakes/access.ts'
import { FakeGoogle } from './test/fakes/google.ts'
import { FakeCloud } from './test/fakes/graph.ts'
import { FakeReceiver, RECEIVER_HOSTS } from './test/fakes/receiver.ts'

const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
// Every outbound fetch of the Worker under test lands here: a fake Microsoft cloud, never the real one.
const cloud = new FakeCloud()
const google = new FakeGoogle()
const fakeGoogleHosts = new Set(['oauth2.fake.test', 'admin.fake.test'])
// Webhook receivers and the DNS-over-HTTPS resolver that vets their names.
const receiver = new FakeReceiver()
// Cloudflare Access's signing keys, for the console behind Access.
const access = new FakeAccess()

export default defineConfig({
  test: {
    projects: [
      {
        // Pure code (parser, PATCH engine, projection, SQL compiler): plain Node, fast.
        test: { name: 'unit', environment: 'node', include: ['test/unit/**/*.test.ts'] },
      },
      {
        // The Worker over HTTP inside workerd, with real D1 and KV.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                // Cases per property of the HTTP fuzz suite (test/integration/fuzz-http.test.ts): FUZZ_RUNS=5000 npm test for more.
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
                ADMIN_TOKEN: 'test-admin-token',
                ENCRYPTION_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
                MS_LOGIN_BASE_URL: 'https://login.fake.test',
                GRAPH_BASE_URL: 'https://graph.fake.test',
                GOOGLE_TOKEN_URL: 'https://oauth2.fake.test/token',
                GOOGLE_DIRECTORY_BASE_URL: 'https://admin.fake.test',
                GOOGLE_AUTH_URL: 'https://oauth2.fake.test/o/oauth2/v2/auth',
                GOOGLE_JWKS_URL: 'https://oauth2.fake.test/certs',
                GOOGLE_CLIENT_ID: 'google-app',
                GOOGLE_CLIENT_SECRET: 'google-secret',
                SYNC_RETRY_BASE_MS: '5',
                SYNC_MAX_WAIT_MS: '2000',
                SYNC_STEP_RETRIES: '2',
                // Small deletion steps, so a few hundred users make a deletion that needs its Workflow.
                DELETE_STEP_USERS: '40',
                SYNC_STEP_DELAY: '1 second',
                // Webhook retries after 1 s, 2 s, 4 s…, so a test sees a few within seconds.
                WEBHOOK_RETRY_BASE_SECONDS: '1',
                DNS_RESOLVER_URL: 'https://dns.fake.test/dns-query',
                MS_CLIENT_ID: 'consent-app',
                MS_CLIENT_SECRET: 'consent-secret',
              },
              outboundService: (request: Request) => {
                const host = new URL(request.url).hostname
                if (RECEIVER_HOSTS.has(host)) return receiver.handler(request)
                if (host === ACCESS_HOST) return access.handler(request)
                return fakeGoogleHosts.has(host) ? google.handler(request) : cloud.handler(request)
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['test/helpers/apply-migrations.ts'],
        },
      },
    ],
  },
})
