import { describe, expect, it } from 'vitest'
import { ConsoleBrowser } from '../helpers/console'
import { call, ERROR_SCHEMA, newIntegration } from '../helpers/http'

// Each test comes from an address of its own (CF-Connecting-IP), as Cloudflare would report it.
let n = 0
const address = () => `203.0.113.${++n}`
const LIMIT = 20

describe('failed authentications per client address', () => {
  it('answers 401 up to the limit, then 429 with Retry-After, and refuses even a valid token from that address for a while', async () => {
    const ip = address()
    const { token } = await newIntegration()
    const statuses: number[] = []
    for (let i = 0; i < LIMIT; i++)
      statuses.push((await call('GET', '/scim/v2/Users', { token: 'scim_guess_wrong', headers: { 'cf-connecting-ip': ip } })).status)
    expect(statuses).toEqual(Array(LIMIT).fill(401))
    const over = await call('GET', '/scim/v2/Users', { token: 'scim_guess_wrong', headers: { 'cf-connecting-ip': ip } })
    expect(over.status).toBe(429)
    expect(over.headers.get('retry-after')).toBe('60')
    expect(over.body.schemas).toEqual([ERROR_SCHEMA])
    expect(over.body.status).toBe('429')
    expect(over.body.detail).toContain('Too many failed authentications')
    // Guessing right now does not help: the address is refused before any credential is checked.
    expect((await call('GET', '/scim/v2/Users', { token, headers: { 'cf-connecting-ip': ip } })).status).toBe(429)
    expect((await call('GET', '/api/v1/integrations', { token: 'test-admin-token', headers: { 'cf-connecting-ip': ip } })).status).toBe(429)
  })

  it('never counts a valid IdP, however many requests it sends', async () => {
    const ip = address()
    const { token } = await newIntegration()
    const statuses = new Set<number>()
    for (let i = 0; i < LIMIT * 3; i++)
      statuses.add((await call('GET', '/scim/v2/Users?count=1', { token, headers: { 'cf-connecting-ip': ip } })).status)
    expect([...statuses]).toEqual([200])
  })

  it('counts wrong admin tokens, API keys and console sign-ins alike, per address', async () => {
    const ip = address()
    const other = address()
    for (let i = 0; i < LIMIT; i++) {
      const wrong = i % 2 ? { token: 'key_nope_nope' } : { token: 'not-the-admin-token' }
      expect((await call('GET', '/api/v1/users', { ...wrong, headers: { 'cf-connecting-ip': ip } })).status).toBe(401)
    }
    const browser = new ConsoleBrowser()
    const login = await browser.request('POST', '/admin/login', { form: { token: 'still-wrong' }, headers: { 'cf-connecting-ip': ip } })
    expect(login.status).toBe(429)
    // Another address is not affected.
    const fine = await new ConsoleBrowser().request('POST', '/admin/login', {
      form: { token: 'test-admin-token' },
      headers: { 'cf-connecting-ip': other },
    })
    expect(fine.status).toBe(303)
  })
})
