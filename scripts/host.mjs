// The Worker hosted through Miniflare's API for `npm run bench` and `npm run load`: bundled with
// esbuild, a fresh local D1 with every migration applied, KV, the two Workflows and the webhook
// queue, on a free loopback port. No wrangler dev proxy in front, so figures are the Worker's own.
import { build } from 'esbuild'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Agent, fetch as undiciFetch } from 'undici'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/*
 * The harness's fetch. workerd closes a keep-alive connection after it has been idle 5 s; Node's
 * fetch keeps one for 4 s by its own clock, on a timer wheel of 1 s, so at the edge (and whenever
 * the event loop is busy with the fakes) it writes a request on a connection workerd has just
 * closed, and fails with "SocketError: other side closed". That is what ended `npm run bench` in
 * the full-size import (issue #9): the Worker was still running and answering. So connections are
 * dropped after 1 s idle, and a GET that still meets a closed one is sent again, saying so (never a
 * write: whether the Worker saw it cannot be known).
 */
const agent = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 })

export async function fetch(url, init = {}) {
  try {
    return await undiciFetch(url, { ...init, dispatcher: agent })
  } catch (e) {
    if ((init.method ?? 'GET') !== 'GET' || e.cause?.code !== 'UND_ERR_SOCKET') throw e
    console.log(`  (GET ${new URL(url).pathname} met a connection the Worker had closed: ${e.cause.message}; sent again)`)
    return undiciFetch(url, { ...init, dispatcher: agent })
  }
}

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
