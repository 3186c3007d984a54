#!/usr/bin/env node
// `npm start`: everything a fresh clone needs to run locally, in one command.
//  1. .dev.vars with a random ADMIN_TOKEN (kept if it exists),
//  2. D1 migrations applied to the local database under .wrangler/,
//  3. `wrangler dev` on http://127.0.0.1:8787 (local D1, KV and cron; no cloud account needed),
//  4. once it is ready, the console URL, the admin token and a first curl, as the last lines.
// The port: PORT=8788 npm start, or npm start -- --port 8788.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const wrangler = join(root, 'node_modules', '.bin', 'wrangler')
const varsPath = join(root, '.dev.vars')
function portFromArgs(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') return args[i + 1]
    if (args[i].startsWith('--port=')) return args[i].slice('--port='.length)
  }
  return undefined
}
const port = portFromArgs(process.argv.slice(2)) ?? process.env.PORT ?? '8787'
if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
  console.error(`The port must be a number from 1 to 65535, not "${port}".`)
  process.exit(1)
}

/** Whether something already listens on the port, in one readable line rather than wrangler's stack trace. */
function portIsFree(p) {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(Number(p), '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

function ensureDevVars() {
  const text = existsSync(varsPath) ? readFileSync(varsPath, 'utf8') : ''
  const vars = Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line))
      .filter(Boolean)
      .map((m) => [m[1], m[2]])
  )
  const added = []
  if (!vars.ADMIN_TOKEN) added.push(['ADMIN_TOKEN', `admin_${randomBytes(32).toString('base64url')}`])
  // Seals secrets that must be read back (client secrets of native integrations): 32 random bytes.
  if (!vars.ENCRYPTION_KEY) added.push(['ENCRYPTION_KEY', randomBytes(32).toString('base64')])
  if (added.length > 0) {
    const lines = added.map(([k, v]) => `${k}="${v}"\n`).join('')
    writeFileSync(varsPath, text && !text.endsWith('\n') ? `${text}\n${lines}` : text + lines, { mode: 0o600 })
    for (const [k, v] of added) vars[k] = v
    console.log(`Wrote ${added.map(([k]) => k).join(' and ')} to .dev.vars.`)
  }
  return vars
}

const vars = ensureDevVars()

if (!(await portIsFree(port))) {
  const next = Number(port) + 1
  console.error(
    `Port ${port} is already in use (another npm start?). Use another one: PORT=${next} npm start, or npm start -- --port ${next}.`
  )
  process.exit(1)
}

// Migrations: one line each, not wrangler's table per migration (its whole output only if one fails).
const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local'], {
  cwd: root,
  encoding: 'utf8',
  env: { WRANGLER_SEND_METRICS: 'false', ...process.env, CI: 'true' },
})
if (migrate.status !== 0) {
  console.error(`${migrate.stdout}\n${migrate.stderr}\nApplying D1 migrations to the local database failed; see above.`)
  process.exit(migrate.status ?? 1)
}
const applied = [...new Set([...migrate.stdout.matchAll(/│ (\d{4}_[\w-]+\.sql)\s+│ ✅/g)].map((m) => m[1]))]
if (applied.length === 0) console.log('Local database: up to date.')
for (const name of applied) console.log(`Applied migration ${name}`)

const base = `http://127.0.0.1:${port}`
const summary = `
  Console:      ${base}/admin   (sign in with the admin token)
  SCIM base:    ${base}/scim/v2
  Admin API:    ${base}/api/v1
  Admin token:  ${vars.ADMIN_TOKEN}

  For the curls in the README, first:
    export ADMIN_TOKEN='${vars.ADMIN_TOKEN}'
  then, for example, a SCIM integration (its token is shown once):
    curl -s -X POST ${base}/api/v1/integrations -H "Authorization: Bearer $ADMIN_TOKEN" \\
      -H 'Content-Type: application/json' -d '{"kind":"scim","name":"Okta production"}'
`

// Locally, webhooks may go to http://127.0.0.1 receivers (never allowed in a deployment).
const dev = spawn(
  wrangler,
  ['dev', '--ip', '127.0.0.1', '--port', port, '--show-interactive-dev-session=false', '--var', 'WEBHOOK_ALLOW_INSECURE:1'],
  {
    cwd: root,
    stdio: ['inherit', 'pipe', 'inherit'],
    env: { WRANGLER_SEND_METRICS: 'false', ...process.env },
  }
)
// wrangler's own lines pass through; once it is ready, the summary comes last, where it is seen.
let shown = false
dev.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  if (!shown && /Ready on/.test(String(chunk))) {
    shown = true
    setTimeout(() => console.log(summary), 200)
  }
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal))
dev.on('exit', (code) => process.exit(code ?? 0))
