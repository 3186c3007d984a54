#!/usr/bin/env node
// `npm start`: everything a fresh clone needs to run locally, in one command.
//  1. .dev.vars with a random ADMIN_TOKEN (kept if it exists),
//  2. D1 migrations applied to the local database under .wrangler/,
//  3. the admin token and a first curl printed,
//  4. `wrangler dev` on http://127.0.0.1:8787 (local D1, KV and cron; no cloud account needed).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const wrangler = join(root, 'node_modules', '.bin', 'wrangler')
const varsPath = join(root, '.dev.vars')
const port = process.env.PORT ?? '8787'

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

console.log('Applying D1 migrations to the local database…')
const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { WRANGLER_SEND_METRICS: 'false', ...process.env, CI: 'true' },
})
if (migrate.status !== 0) {
  console.error('Applying migrations failed; see the output above.')
  process.exit(migrate.status ?? 1)
}

const base = `http://127.0.0.1:${port}`
console.log(`
  Service:      ${base}
  SCIM base:    ${base}/scim/v2
  Admin API:    ${base}/api/v1
  Admin token:  ${vars.ADMIN_TOKEN}

  Create a SCIM integration (its token is shown once):
    curl -s -X POST ${base}/api/v1/integrations \\
      -H 'Authorization: Bearer ${vars.ADMIN_TOKEN}' -H 'Content-Type: application/json' \\
      -d '{"kind":"scim","name":"Okta production"}'
`)

// Locally, webhooks may go to http://127.0.0.1 receivers (never allowed in a deployment).
const dev = spawn(
  wrangler,
  ['dev', '--ip', '127.0.0.1', '--port', port, '--show-interactive-dev-session=false', '--var', 'WEBHOOK_ALLOW_INSECURE:1'],
  {
    cwd: root,
    stdio: 'inherit',
    env: { WRANGLER_SEND_METRICS: 'false', ...process.env },
  }
)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal))
dev.on('exit', (code) => process.exit(code ?? 0))
