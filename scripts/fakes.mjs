#!/usr/bin/env node
// `npm run fakes`: the fake Microsoft and Google clouds of the tests (test/fakes/) on loopback, with a
// demo tenant and a demo Workspace customer, so a local `npm start` can import users with no cloud account.
import { build } from 'esbuild'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, '.wrangler', 'fakes')
mkdirSync(outdir, { recursive: true })
await build({
  entryPoints: [join(root, 'test', 'fakes', 'graph.ts'), join(root, 'test', 'fakes', 'google.ts')],
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  logLevel: 'warning',
})
const { FakeCloud } = await import(pathToFileURL(join(outdir, 'graph.mjs')).href)
const { FakeGoogle } = await import(pathToFileURL(join(outdir, 'google.mjs')).href)

const port = Number(process.env.FAKES_PORT ?? 8790)
// Where npm start serves the Worker (PORT=… npm start), for the curls printed below.
const service = `http://127.0.0.1:${process.env.PORT ?? 8787}`
const cloud = new FakeCloud()
const demo = cloud.tenant('demo', 'demo-app', 'demo-secret')
const people = [
  'Ada Lovelace',
  'Alan Turing',
  'Grace Hopper',
  'Edsger Dijkstra',
  'Barbara Liskov',
  'Donald Knuth',
  'Margaret Hamilton',
  'Ken Thompson',
  'Frances Allen',
  'John Backus',
]
people.forEach((name, i) => {
  const [given, family] = name.split(' ')
  demo.upsertUser({
    id: `demo-u${i}`,
    userPrincipalName: `${given.toLowerCase()}@demo.example`,
    givenName: given,
    surname: family,
    mail: `${given.toLowerCase()}@demo.example`,
    jobTitle: 'Engineer',
    department: i % 2 ? 'Research' : 'Platform',
    accountEnabled: i !== 9,
  })
})
demo.upsertGroup({ id: 'demo-g-research', displayName: 'Research', members: people.map((_, i) => `demo-u${i}`).filter((_, i) => i % 2) })
demo.upsertGroup({ id: 'demo-g-platform', displayName: 'Platform', members: people.map((_, i) => `demo-u${i}`).filter((_, i) => !(i % 2)) })
demo.upsertGroup({ id: 'demo-g-all', displayName: 'Everyone', members: ['demo-g-research', 'demo-g-platform'] })

// Google Workspace: a customer whose service account key is written next to the bundle.
const google = new FakeGoogle()
google.tokenUrl = `http://127.0.0.1:${port}/token`
const { customer, serviceAccount } = await google.addCustomer('demo-customer', 'admin@demo.example')
customer.users = people.map((name, i) => ({
  id: `gw-u${i}`,
  primaryEmail: `${name.split(' ')[0].toLowerCase()}@workspace.example`,
  name: { fullName: name },
  suspended: i === 9,
}))
customer.groups = [
  {
    id: 'gw-g1',
    email: 'eng@workspace.example',
    name: 'Engineering',
    members: people.slice(0, 5).map((_, i) => ({ id: `gw-u${i}`, type: 'USER' })),
  },
]
const keyFile = join(outdir, 'google-service-account.json')
writeFileSync(keyFile, JSON.stringify({ kind: 'google', name: 'Demo Google', adminEmail: 'admin@demo.example', serviceAccount }, null, 2))
const isGoogle = (path) => path === '/token' || path.startsWith('/admin/directory/v1/') || path.startsWith('/_fake-google/')

createServer(async (req, res) => {
  const chunks = []
  for await (const c of req) chunks.push(c)
  const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method,
    headers: req.headers,
    body: chunks.length ? Buffer.concat(chunks) : undefined,
  })
  // A request the fakes cannot parse answers 400 instead of taking the server down.
  const response = await (isGoogle(new URL(request.url).pathname) ? google.handler(request) : cloud.handler(request)).catch(
    (e) => new Response(`fake: ${e.message}`, { status: 400 })
  )
  res.writeHead(response.status, Object.fromEntries(response.headers))
  res.end(Buffer.from(await response.arrayBuffer()))
}).listen(port, '127.0.0.1', () => {
  console.log(`Fake Microsoft cloud on http://127.0.0.1:${port} (tenant "demo", client id "demo-app", secret "demo-secret", ${people.length} users, 3 groups).

To import from it, add to .dev.vars and restart npm start:
  MS_LOGIN_BASE_URL="http://127.0.0.1:${port}"
  GRAPH_BASE_URL="http://127.0.0.1:${port}"
then:
  curl -s -X POST ${service}/api/v1/integrations -H "Authorization: Bearer $ADMIN_TOKEN" \\
    -H 'Content-Type: application/json' -d '{"kind":"entra","name":"Demo Entra","tenantId":"demo","clientId":"demo-app","clientSecret":"demo-secret"}'
  curl -s -X POST ${service}/api/v1/integrations/<id>/sync -H "Authorization: Bearer $ADMIN_TOKEN"

Google Workspace too: add GOOGLE_TOKEN_URL="http://127.0.0.1:${port}/token" and
GOOGLE_DIRECTORY_BASE_URL="http://127.0.0.1:${port}" to .dev.vars, then
  curl -s -X POST ${service}/api/v1/integrations -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d @${keyFile}`)
})
