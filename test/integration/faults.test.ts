import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { ERROR_SCHEMA, newIntegration, ORIGIN, PATCH_OP, userBody } from '../helpers/http'

/** D1 as it fails in production: every batch throws `error`; single statements still work. */
function failingBatches(error: Error): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'batch') return () => Promise.reject(error)
      const value = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

async function send(db: D1Database, method: string, path: string, token: string, body: unknown) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`${ORIGIN}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    }),
    { ...env, DB: db },
    ctx
  )
  await waitOnExecutionContext(ctx)
  return { status: res.status, headers: res.headers, body: (await res.json()) as { schemas: string[]; status: string; detail: string } }
}

afterEach(() => vi.restoreAllMocks())

describe('D1 failing in the middle of a SCIM request', () => {
  it('answers 503 with Retry-After and a request id that is also in the log line, writes nothing, and a retry succeeds', async () => {
    const { token, scim } = await newIntegration()
    const logged: string[] = []
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(String(line)))
    const down = failingBatches(new Error('D1_ERROR: Network connection lost.'))
    const res = await send(down, 'POST', '/Users', token, userBody('fault@example.com'))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.body.schemas).toEqual([ERROR_SCHEMA])
    expect(res.body.status).toBe('503')
    const id = res.headers.get('x-request-id')!
    expect(id).toBeTruthy()
    expect(res.body.detail).toContain(`request id ${id}`)
    expect(logged.some((line) => line.includes(id) && line.includes('Network connection lost'))).toBe(true)
    // Nothing of the failed request was written; the IdP's retry creates the user once.
    expect((await scim.get('/Users?filter=userName eq "fault@example.com"')).body.totalResults).toBe(0)
    expect((await scim.post('/Users', userBody('fault@example.com'))).status).toBe(201)
    expect((await scim.get('/Users?filter=userName eq "fault@example.com"')).body.totalResults).toBe(1)
  })

  it('leaves a user unchanged when its PATCH fails in D1', async () => {
    const { token, scim } = await newIntegration()
    const created = await scim.post('/Users', userBody('patch.fault@example.com', { title: 'Before' }))
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const res = await send(
      failingBatches(new Error('D1_ERROR: storage operation exceeded timeout')),
      'PATCH',
      `/Users/${created.body.id}`,
      token,
      {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'title', value: 'After' }],
      }
    )
    expect(res.status).toBe(503)
    const now = await scim.get(`/Users/${created.body.id}`)
    expect(now.body.title).toBe('Before')
    expect(now.body.meta.version).toBe(created.body.meta.version)
    // And the next PATCH, on the working database, applies.
    expect((await scim.patch(`/Users/${created.body.id}`, [{ op: 'replace', path: 'title', value: 'After' }])).status).toBe(200)
  })

  it('answers any other failure 500 with the request id and nothing of the error itself', async () => {
    const { token } = await newIntegration()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const res = await send(
      failingBatches(new TypeError('secret internals: x is undefined')),
      'POST',
      '/Users',
      token,
      userBody('bug@example.com')
    )
    expect(res.status).toBe(500)
    expect(res.body.detail).toContain(`request ${res.headers.get('x-request-id')}`)
    expect(res.body.detail).not.toContain('secret internals')
  })
})
