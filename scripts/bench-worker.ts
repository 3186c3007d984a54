// Bench-only Worker entry: the production app plus a baseline route doing exactly one raw D1
// point query, so both are measured in the same process, over the same loopback, by the same
// load generator. Never deployed (wrangler.toml's main is src/index.ts).
import worker from '../src/index'

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/__baseline/')) {
      const id = url.pathname.slice('/__baseline/'.length)
      const result = await env.DB.prepare('SELECT id, data FROM users WHERE id = ?').bind(id).all()
      return new Response(JSON.stringify(result.results[0] ?? null), {
        headers: { 'content-type': 'application/json', 'x-d1-rows-read': String(result.meta.rows_read) },
      })
    }
    if (url.pathname === '/__baseline-write') {
      const result = await env.DB.prepare('INSERT INTO write_floor (v) VALUES (?)').bind(url.search).run()
      return new Response('{}', { headers: { 'content-type': 'application/json', 'x-d1-rows-written': String(result.meta.rows_written) } })
    }
    // What D1 alone spends on a new user (its row, indexes, counters, event and search terms), with
    // none of the Worker's code: the floor under POST /Users.
    if (url.pathname === '/__baseline-user') {
      const n = crypto.randomUUID()
      const doc = JSON.stringify({ userName: `${n}@floor.example`, emails: [{ value: `${n}@floor.example`, type: 'work' }] })
      const result = await env.DB.prepare(
        `INSERT INTO users (id, integration_id, user_name, user_name_key, active, data, data_key, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?3, 1, ?4, ?4, 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`
      )
        .bind(n, url.searchParams.get('integration'), `${n}@floor.example`, doc)
        .run()
      return new Response('{}', { headers: { 'content-type': 'application/json', 'x-d1-rows-written': String(result.meta.rows_written) } })
    }
    return worker.fetch(request, env, ctx)
  },
  queue: worker.queue,
} satisfies ExportedHandler<Env>

export { DirectorySyncWorkflow, IntegrationDeletionWorkflow } from '../src/index'
