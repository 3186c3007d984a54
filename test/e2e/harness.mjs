// The world of the browser tests: the fake Microsoft cloud (scripts/fakes.mjs) and this Worker under
// `wrangler dev`, each on a free loopback port, with a database of their own, and Debian's Chromium
// driven by playwright-core. Nothing here reaches beyond 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const root = join(import.meta.dirname, '..', '..')
const wrangler = join(root, 'node_modules', '.bin', 'wrangler')

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Debian's chromium (apt-get install -y chromium), or CHROMIUM_PATH. */
export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(candidate)) return candidate
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' })
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim()
  throw new Error('Chromium not found: install it (apt-get install -y chromium) or set CHROMIUM_PATH.')
}

async function waitFor(url, child, what, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`)
    try {
      const res = await fetch(url)
      if (res.status < 500) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${what} did not answer on ${url} within ${timeoutMs / 1000} s`)
}

/** Starts the fakes and the Worker; returns their addresses, the admin token and a stop(). */
export async function startWorld() {
  const [port, fakesPort, inspectorPort] = [await freePort(), await freePort(), await freePort()]
  const persist = join(root, '.wrangler', `e2e-${process.pid}`)
  rmSync(persist, { recursive: true, force: true })
  mkdirSync(persist, { recursive: true })
  const log = []
  const keep = (child) => {
    child.stdout.on('data', (d) => log.push(String(d)))
    child.stderr.on('data', (d) => log.push(String(d)))
    return child
  }
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' }
  const fakes = keep(
    spawn(process.execPath, [join(root, 'scripts', 'fakes.mjs')], { cwd: root, env: { ...env, FAKES_PORT: String(fakesPort) } })
  )
  const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], {
    cwd: root,
    env,
    encoding: 'utf8',
  })
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`)
  const adminToken = `admin_${randomBytes(24).toString('base64url')}`
  const fakesUrl = `http://127.0.0.1:${fakesPort}`
  const vars = {
    ADMIN_TOKEN: adminToken,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    MS_LOGIN_BASE_URL: fakesUrl,
    GRAPH_BASE_URL: fakesUrl,
    SYNC_RETRY_BASE_MS: '5',
    SYNC_STEP_DELAY: '1 second',
  }
  const dev = keep(
    spawn(
      wrangler,
      [
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--inspector-port',
        String(inspectorPort),
        '--persist-to',
        persist,
        '--show-interactive-dev-session=false',
        ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ],
      { cwd: root, env, detached: true }
    )
  )
  const base = `http://127.0.0.1:${port}`
  try {
    await waitFor(`${fakesUrl}/`, fakes, 'the fakes')
    await waitFor(`${base}/`, dev, 'wrangler dev')
  } catch (e) {
    stopAll([fakes, dev])
    throw new Error(`${e.message}\n--- output ---\n${log.join('')}`, { cause: e })
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Without these, Chromium keeps trying the network this machine does not have.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  return {
    base,
    adminToken,
    browser,
    log,
    async stop() {
      await browser.close().catch(() => {})
      stopAll([fakes, dev])
      rmSync(persist, { recursive: true, force: true })
    },
  }
}

function stopAll(children) {
  for (const child of children) {
    try {
      // wrangler dev runs workerd as a child of its own: the whole process group goes.
      if (child.spawnargs.includes('dev')) process.kill(-child.pid, 'SIGTERM')
      else child.kill('SIGTERM')
    } catch {
      child.kill('SIGKILL')
    }
  }
}
