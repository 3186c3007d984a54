// The Worker hosted through Miniflare's API for `npm run bench` and `npm run load`: bundled with
// esbuild, a fresh local D1 with every migration applied, KV, the two Workflows and the webhook
// queue, on a free loopback port. No wrangler dev proxy in front, so figures are the Worker's own.
import { build } from 'esbuild'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Starts the Worker of `entry` (a path under the project) in a fresh `work` folder. */
export async function hostWorker({ entry, work, bindings = {}, outboundService }) {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(work, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    logLevel: 'warning',
  })
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(join(root, 'wrangler.toml'), 'utf8'))[1]
  const mf = new Miniflare({
    // BENCH_LOG=DEBUG (or INFO, WARN): Miniflare's log of requests and of the Worker's process.
    log: new Log(LogLevel[process.env.BENCH_LOG ?? 'NONE'] ?? LogLevel.NONE),
    modules: true,
    scriptPath: join(work, 'worker.js'),
    compatibilityDate,
    d1Databases: { DB: 'bench' },
    kvNamespaces: ['TOKENS'],
    bindings: {
      MAX_BODY_BYTES: '1048576',
      ENCRYPTION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64'),
      ...bindings,
    },
    workflows: {
      SYNC: { name: 'directory-sync', className: 'DirectorySyncWorkflow', stepLimit: 25000 },
      DELETION: { name: 'integration-deletion', className: 'IntegrationDeletionWorkflow' },
    },
    // Webhook kicks go to the real local queue (no webhook is configured, so the consumer only looks).
    queueProducers: { WEBHOOK_QUEUE: { queueName: 'webhook-deliveries' } },
    queueConsumers: { 'webhook-deliveries': { maxBatchTimeout: 1, maxBatchSize: 100 } },
    ...(outboundService ? { outboundService } : {}),
    host: '127.0.0.1',
    port: 0,
  })
  const base = (await mf.ready).toString().replace(/\/$/, '')
  const db = await mf.getD1Database('DB')
  // Migrations, statement by statement (the files are split by drizzle-kit's breakpoints).
  for (const file of readdirSync(join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const statements = readFileSync(join(root, 'migrations', file), 'utf8')
      .split('--> statement-breakpoint')
      .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
      .filter(Boolean)
    await db.batch(statements.map((s) => db.prepare(s)))
  }
  return { mf, base, db }
}
