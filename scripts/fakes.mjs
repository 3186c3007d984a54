#!/usr/bin/env node
// `npm run fakes`: the fake Microsoft cloud of the tests (test/fakes/graph.ts) on loopback, with a
// demo tenant, so a local `npm start` can import users from "Entra" with no cloud account.
import { build } from 'esbuild'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, '.wrangler', 'fakes', 'graph.mjs')
mkdirSync(dirname(out), { recursive: true })
await build({ entryPoints: [join(root, 'test', 'fakes', 'graph.ts')], outfile: out, bundle: true, format: 'esm', platform: 'node', logLevel: 'warning' })
const { FakeCloud } = await import(pathToFileURL(out).href)

const port = Number(process.env.FAKES_PORT ?? 8790)
const cloud = new FakeCloud()
const demo = cloud.tenant('demo', 'demo-app', 'demo-secret')
const people = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth', 'Margaret Hamilton', 'Ken Thompson', 'Frances Allen', 'John Backus']
people.forEach((name, i) => {
  const [given, family] = name.split(' ')
  demo.upsertUser({ id: `demo-u${i}`, userPrincipalName: `${given.toLowerCase()}@demo.example`, givenName: given, surname: family, mail: `${given.toLowerCase()}@demo.example`, jobTitle: 'Engineer', department: i % 2 ? 'Research' : 'Platform', accountEnabled: i !== 9 })
})
demo.upsertGroup({ id: 'demo-g-research', displayName: 'Research', members: people.map((_, i) => `demo-u${i}`).filter((_, i) => i % 2) })
demo.upsertGroup({ id: 'demo-g-platform', displayName: 'Platform', members: people.map((_, i) => `demo-u${i}`).filter((_, i) => !(i % 2)) })
demo.upsertGroup({ id: 'demo-g-all', displayName: 'Everyone', members: ['demo-g-research', 'demo-g-platform'] })

createServer(async (req, res) => {
  const chunks = []
  for await (const c of req) chunks.push(c)
  const request = new Request(`http://127.0.0.1:${port}${req.url}`, { method: req.method, headers: req.headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
  const response = await cloud.handler(request)
  res.writeHead(response.status, Object.fromEntries(response.headers))
  res.end(Buffer.from(await response.arrayBuffer()))
}).listen(port, '127.0.0.1', () => {
  console.log(`Fake Microsoft cloud on http://127.0.0.1:${port} (tenant "demo", client id "demo-app", secret "demo-secret", ${people.length} users, 3 groups).

To import from it, add to .dev.vars and restart npm start:
  MS_LOGIN_BASE_URL="http://127.0.0.1:${port}"
  GRAPH_BASE_URL="http://127.0.0.1:${port}"
then:
  curl -s -X POST http://127.0.0.1:8787/api/v1/integrations -H "Authorization: Bearer $ADMIN_TOKEN" \\
    -H 'Content-Type: application/json' -d '{"kind":"entra","name":"Demo Entra","tenantId":"demo","clientId":"demo-app","clientSecret":"demo-secret"}'
  curl -s -X POST http://127.0.0.1:8787/api/v1/integrations/<id>/sync -H "Authorization: Bearer $ADMIN_TOKEN"`)
})
