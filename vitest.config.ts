import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))

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
            miniflare: { bindings: { TEST_MIGRATIONS: migrations, ADMIN_TOKEN: 'test-admin-token' } },
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
