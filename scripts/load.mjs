#!/usr/bin/env node
// `npm run load`: a bounded replay of what identity providers and applications do to the service,
// against the Worker hosted locally (scripts/host.mjs), then a check of the stored state against
// what was sent. Bounded in count (LOAD_USERS, default 10,000), concurrency (LOAD_CONCURRENCY,
// default 16) and time (LOAD_MAX_SECONDS, default 900: past it, the run stops and says so).
//
//  1. Entra's first cycle: for every user a filter by userName, then a POST with the enterprise
//     extension; groups the same way, then member PATCHes of 100.
//  2. Eight clients PATCH one group at once, each adding its own members and removing half of them.
//  3. Four clients PATCH different attributes of the same users at once (a lost update shows).
//  4. Okta's import: the whole directory paged by startIndex, 100 a page.
//  5. An application: the read API paged by cursor, and the change feed from its start.
// Verified: every user exactly once with what was sent, every membership present, no lost update,
// the feed's user.created and group.member_added events matching the state. Prints throughput,
// p50/p99 and errors by status per phase; exits 1 on any 5xx or mismatch. With LOAD_REPORT=1 it
// writes its row into docs/reliability.md.
import { join } from 'node:path'
import { fetch, hostWorker, root } from './host.mjs'
import { writeReliabilityRow } from './reliability-doc.mjs'

const USERS = Number(process.env.LOAD_USERS ?? 10_000)
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 16)
const MAX_SECONDS = Number(process.env.LOAD_MAX_SECONDS ?? 900)
const GROUP_SIZE = 200
const ADMIN_TOKEN = 'load-admin-token'
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const deadline = Date.now() + MAX_SECONDS * 1000

const { mf, base } = await hostWorker({ entry: join('src', 'index.ts'), work: join(root, '.load'), bindings: { ADMIN_TOKEN } })

const phases = []
let phase
function begin(name) {
  if (phase) phase.ended = performance.now()
  phase = { name, requests: 0, latencies: [], statuses: {}, started: performance.now() }
  phases.push(phase)
}

async function send(method, path, { token, body, expect } = {}) {
  if (Date.now() > deadline) throw new Error(`LOAD_MAX_SECONDS (${MAX_SECONDS} s) reached during "${phase.name}"`)
  const started = performance.now()
  let res
  try {
    res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
  } catch (e) {
    phase.statuses.network = (phase.statuses.network ?? 0) + 1
    throw e
  }
  const text = await res.text()
  phase.requests++
  phase.latencies.push(performance.now() - started)
  phase.statuses[res.status] = (phase.statuses[res.status] ?? 0) + 1
  if (expect && !expect.includes(res.status)) mismatch(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`)
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

const mismatches = []
function mismatch(what) {
  if (mismatches.length < 20) console.error(`  MISMATCH ${what}`)
  mismatches.push(what)
}

async function inParallel(count, task, concurrency = CONCURRENCY) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++)
    })
  )
}

const integration = await (
  await fetch(`${base}/api/v1/integrations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'scim', name: 'Load' }),
  })
).json()
const token = integration.token
const apiKey = (
  await (
    await fetch(`${base}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'load', scope: 'read' }),
    })
  ).json()
).token

// 1. Entra's first cycle.
begin(`Entra first cycle: ${USERS.toLocaleString()} users, filter then POST`)
const sent = []
const ids = []
await inParallel(USERS, async (i) => {
  const userName = `user${i}@load.example`
  const found = await send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, { token, expect: [200] })
  if (found.body?.totalResults !== 0) mismatch(`${userName} found before it was created`)
  const doc = {
    schemas: [USER, ENTERPRISE],
    userName,
    externalId: `ext-${i}`,
    active: true,
    displayName: `Load User ${i}`,
    name: { givenName: 'Load', familyName: `User ${i}` },
    emails: [{ value: userName, type: 'work', primary: true }],
    [ENTERPRISE]: { department: `Dept ${i % 20}`, employeeNumber: String(i) },
  }
  sent[i] = doc
  ids[i] = (await send('POST', '/scim/v2/Users', { token, body: doc, expect: [201] })).body?.id
})

const groups = Math.ceil(USERS / GROUP_SIZE)
begin(`Entra first cycle: ${groups} groups, member PATCHes of 100`)
const groupIds = []
const expectedMembers = new Map()
await inParallel(groups, async (g) => {
  await send('GET', `/scim/v2/Groups?filter=${encodeURIComponent(`displayName eq "Load group ${g}"`)}&excludedAttributes=members`, {
    token,
    expect: [200],
  })
  groupIds[g] = (
    await send('POST', '/scim/v2/Groups', { token, body: { schemas: [GROUP], displayName: `Load group ${g}` }, expect: [201] })
  ).body?.id
  expectedMembers.set(groupIds[g], new Set())
})
const patches = []
for (let g = 0; g < groups; g++)
  for (let k = g * GROUP_SIZE; k < Math.min(USERS, (g + 1) * GROUP_SIZE); k += 100)
    patches.push({ g, members: ids.slice(k, Math.min(k + 100, USERS, (g + 1) * GROUP_SIZE)) })
await inParallel(patches.length, async (p) => {
  const { g, members } = patches[p]
  await send('PATCH', `/scim/v2/Groups/${groupIds[g]}`, {
    token,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: members.map((value) => ({ value })) }] },
    expect: [200, 204],
  })
  for (const m of members) expectedMembers.get(groupIds[g]).add(m)
})

// 2. One group, eight clients at once.
begin('one group, 8 clients adding and removing members at once')
const shared = (
  await send('POST', '/scim/v2/Groups', { token, body: { schemas: [GROUP], displayName: 'Load shared group' }, expect: [201] })
).body.id
expectedMembers.set(shared, new Set())
const perClient = Math.min(100, Math.floor(USERS / 8))
await inParallel(
  8,
  async (client) => {
    const mine = ids.slice(client * perClient, (client + 1) * perClient)
    for (const m of mine)
      await send('PATCH', `/scim/v2/Groups/${shared}`, {
        token,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: m }] }] },
        expect: [200, 204],
      })
    for (const m of mine.filter((_, k) => k % 2 === 0))
      await send('PATCH', `/scim/v2/Groups/${shared}`, {
        token,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${m}"]` }] },
        expect: [200, 204],
      })
    for (const m of mine.filter((_, k) => k % 2 === 1)) expectedMembers.get(shared).add(m)
  },
  8
)

// 3. Concurrent PATCHes of different attributes of the same users.
const CONTENDED = Math.min(200, USERS)
begin(`${CONTENDED} users, 4 clients patching different attributes of each at once`)
const attributes = [
  ['title', (i) => `Title ${i}`],
  ['nickName', (i) => `Nick ${i}`],
  [`${ENTERPRISE}:costCenter`, (i) => `CC ${i}`],
  ['displayName', (i) => `Renamed ${i}`],
]
await inParallel(
  CONTENDED * attributes.length,
  async (n) => {
    const i = Math.floor(n / attributes.length)
    const [path, value] = attributes[n % attributes.length]
    await send('PATCH', `/scim/v2/Users/${ids[i]}`, {
      token,
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path, value: value(i) }] },
      expect: [200, 204],
    })
  },
  CONCURRENCY
)

// 4. Okta's import of the whole directory.
begin('Okta import: every user by startIndex, 100 a page')
const listed = new Map()
for (let start = 1; ; start += 100) {
  const page = (await send('GET', `/scim/v2/Users?startIndex=${start}&count=100`, { token, expect: [200] })).body
  for (const u of page.Resources ?? []) {
    if (listed.has(u.id)) mismatch(`user ${u.userName} listed twice`)
    listed.set(u.id, u)
  }
  if (!page.Resources?.length || start + 100 > page.totalResults) break
}

// 5. An application reads.
begin('application: the read API by cursor, 500 a page, and the change feed')
let readApi = 0
for (let cursor; ;) {
  const page = (
    await send('GET', `/api/v1/users?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: apiKey, expect: [200] })
  ).body
  readApi += page.data.length
  if (!page.nextCursor) break
  cursor = page.nextCursor
}
const feed = { 'user.created': 0, 'group.member_added': 0, 'group.member_removed': 0 }
for (let after = 0; ;) {
  const page = (
    await send('GET', `/api/v1/events?after=${after}&limit=500&integrationId=${integration.id}`, { token: apiKey, expect: [200] })
  ).body
  for (const e of page.data) if (e.type in feed) feed[e.type]++
  after = page.nextCursor
  if (!page.hasMore) break
}

// The state against what was sent.
begin('verification reads')
if (listed.size !== USERS) mismatch(`Okta paging saw ${listed.size} users, ${USERS} were created`)
if (readApi !== USERS) mismatch(`the read API listed ${readApi} users, ${USERS} were created`)
for (let i = 0; i < USERS; i++) {
  const u = listed.get(ids[i])
  if (!u) continue
  if (u.userName !== sent[i].userName || u.externalId !== sent[i].externalId || u[ENTERPRISE]?.employeeNumber !== String(i))
    mismatch(`user ${i} stored differently from what was sent`)
  if (i < CONTENDED)
    for (const [path, value] of attributes) {
      const stored = path.startsWith(ENTERPRISE) ? u[ENTERPRISE]?.[path.split(':').pop()] : u[path]
      if (stored !== value(i)) mismatch(`lost update: user ${i} ${path} is ${JSON.stringify(stored)}, not "${value(i)}"`)
    }
}
let memberships = 0
for (const [groupId, expected] of expectedMembers) {
  const seen = new Set()
  for (let cursor; ;) {
    const page = (
      await send('GET', `/api/v1/groups/${groupId}/members?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        token: apiKey,
        expect: [200],
      })
    ).body
    for (const m of page.data) seen.add(m.id)
    if (!page.nextCursor) break
    cursor = page.nextCursor
  }
  memberships += expected.size
  const missing = [...expected].filter((m) => !seen.has(m)).length
  const extra = [...seen].filter((m) => !expected.has(m)).length
  if (missing || extra) mismatch(`group ${groupId}: ${missing} members missing, ${extra} not expected`)
}
if (feed['user.created'] !== USERS) mismatch(`the feed has ${feed['user.created']} user.created events for ${USERS} users`)
if (feed['group.member_added'] - feed['group.member_removed'] !== memberships)
  mismatch(
    `the feed's member_added minus member_removed is ${feed['group.member_added'] - feed['group.member_removed']}, the groups hold ${memberships}`
  )

phase.ended = performance.now()
await mf.dispose()

// The figures.
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0)
let total = 0
let fivexx = 0
console.log(`\nnpm run load: ${USERS.toLocaleString()} users, concurrency ${CONCURRENCY}\n`)
console.log(`${'phase'.padEnd(70)}${'requests'.padStart(9)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}  statuses`)
for (const p of phases) {
  const seconds = (p.ended - p.started) / 1000
  const sorted = p.latencies.sort((a, b) => a - b)
  total += p.requests
  for (const [status, n] of Object.entries(p.statuses)) if (status === 'network' || Number(status) >= 500) fivexx += n
  console.log(
    `${p.name.padEnd(70)}${String(p.requests).padStart(9)}${(p.requests / seconds).toFixed(0).padStart(8)}${pct(sorted, 0.5).toFixed(0).padStart(8)}${pct(sorted, 0.99).toFixed(0).padStart(8)}  ${Object.entries(
      p.statuses
    )
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}`
  )
}
console.log(
  `\n${total.toLocaleString()} requests, ${fivexx} 5xx or network errors, ${mismatches.length} state mismatches (${memberships.toLocaleString()} memberships checked).`
)

if (process.env.LOAD_REPORT) {
  const command = `LOAD_USERS=${USERS} LOAD_CONCURRENCY=${CONCURRENCY} npm run load`
  writeReliabilityRow(
    'load',
    `| \`${command}\` | ${total.toLocaleString()} requests | ${fivexx} 5xx or network errors | ${mismatches.length} mismatches in ${USERS.toLocaleString()} users and ${memberships.toLocaleString()} memberships |`
  )
}
process.exit(fivexx > 0 || mismatches.length > 0 ? 1 : 0)
