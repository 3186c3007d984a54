import { env } from 'cloudflare:workers'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { admin, call, GROUP_SCHEMA, newIntegration, userBody, type Json } from '../helpers/http'

/*
 * Webhooks end to end: the Worker's own queue consumer delivers to receivers of
 * test/fakes/receiver.ts, which record what they got and answer as scripted.
 */

interface Received {
  headers: Record<string, string>
  body: string
  at: number
}

const HOST = 'https://hooks.fake.test'
const created: string[] = []

async function receiver(statuses: (number | 'hang')[] = []) {
  const path = `/${crypto.randomUUID()}`
  await fetch(`${HOST}/_fake/script`, { method: 'POST', body: JSON.stringify({ path, statuses }) })
  return { url: `${HOST}${path}`, received: async () => (await (await fetch(`${HOST}/_fake/received?path=${path}`)).json()) as Received[] }
}

async function webhook(url: string, events: string[]) {
  const res = await admin('POST', '/webhooks', { url, events })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  created.push(res.body.id)
  return res.body as { id: string; secret: string }
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const events = (rs: Received[]) => rs.map((r) => JSON.parse(r.body) as { id: string; type: string; data: Json })

/** The README's check, in plain WebCrypto: HMAC-SHA256 of "id.timestamp.body" under the secret's bytes. */
async function signatureValid(secret: string, r: Received): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    'raw',
    Uint8Array.from(atob(secret.slice('whsec_'.length)), (ch) => ch.charCodeAt(0)),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  const signed = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(signed)))
  const expected = btoa(String.fromCharCode(...mac))
  return r.headers['webhook-signature']!.split(' ').some((s) => s === `v1,${expected}`)
}

afterEach(async () => {
  for (const id of created.splice(0)) await admin('DELETE', `/webhooks/${id}`)
})

describe('webhook endpoints', () => {
  it('are created with a secret shown once, listed, changed and deleted, by the admin token only', async () => {
    const { url } = await receiver()
    const made = await webhook(url, ['user.*', 'group.member_added'])
    expect(made.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    const listed = await admin('GET', '/webhooks')
    expect(listed.body.webhooks.find((w: Json) => w.id === made.id)).toMatchObject({
      url,
      events: ['user.*', 'group.member_added'],
      status: 'healthy',
    })
    expect(JSON.stringify(listed.body)).not.toContain(made.secret.slice(6))
    expect(JSON.stringify((await admin('GET', `/webhooks/${made.id}`)).body)).not.toMatch(/secret/i)

    const patched = await admin('PATCH', `/webhooks/${made.id}`, { events: ['*'], enabled: false })
    expect(patched.body).toMatchObject({ events: ['*'], enabled: false, status: 'disabled' })
    expect((await admin('PATCH', `/webhooks/${made.id}`, {})).status).toBe(400)

    for (const scope of ['read', 'write']) {
      const key = (await admin('POST', '/api-keys', { name: `k ${crypto.randomUUID()}`, scope })).body.token
      for (const [method, path] of [
        ['GET', '/webhooks'],
        ['POST', '/webhooks'],
        ['GET', `/webhooks/${made.id}`],
        ['DELETE', `/webhooks/${made.id}`],
        ['GET', `/webhooks/${made.id}/deliveries`],
      ]) {
        const res = await call(method!, `/api/v1${path}`, { token: key })
        expect(res.status, `${scope} ${method} ${path}`).toBe(403)
        expect(res.body.detail).toContain('admin token')
      }
    }
    expect((await admin('DELETE', `/webhooks/${made.id}`)).status).toBe(204)
    expect((await admin('GET', `/webhooks/${made.id}`)).status).toBe(404)
    expect((await admin('DELETE', `/webhooks/${made.id}`)).status).toBe(404)
  })

  it('refuse URLs that are not https or reach loopback, private or metadata addresses, and unknown event types', async () => {
    for (const [url, why] of [
      ['http://hooks.fake.test/x', 'https'],
      ['https://127.0.0.1/x', 'loopback'],
      ['https://[::1]/x', 'loopback'],
      ['https://0x7f.1/x', 'loopback'],
      ['https://10.0.0.8/x', 'private'],
      ['https://localhost/x', 'local'],
      ['https://intranet.fake.test/x', 'private'],
      ['https://metadata.fake.test/x', 'linkLocal'],
      ['https://sneaky.fake.test/x', 'loopback'],
      ['https://nowhere.fake.test/x', 'does not resolve'],
      ['https://user:pass@hooks.fake.test/x', 'password'],
      ['not a url', 'absolute URL'],
    ]) {
      const res = await admin('POST', '/webhooks', { url, events: ['*'] })
      expect(res.status, url).toBe(400)
      expect(res.body.detail, url).toContain('url')
      expect(res.body.detail, url).toContain(why)
    }
    const bad = await admin('POST', '/webhooks', { url: `${HOST}/x`, events: ['user.*', 'user.exploded', 'people.*'] })
    expect(bad.status).toBe(400)
    expect(bad.body.detail).toContain('"user.exploded", "people.*"')
    expect((await admin('POST', '/webhooks', { url: `${HOST}/x`, events: [] })).status).toBe(400)
  })
})

describe('webhook deliveries', () => {
  it('send the subscribed events in feed order, signed per Standard Webhooks, each body as the feed shows it', async () => {
    const r = await receiver()
    const hook = await webhook(r.url, ['user.*'])
    const { scim } = await newIntegration()
    const user = await scim.post('/Users', userBody(`wh-${crypto.randomUUID()}`))
    await scim.patch(`/Users/${user.body.id}`, [{ op: 'replace', path: 'displayName', value: 'Renamed' }])
    await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `G ${crypto.randomUUID()}`, members: [{ value: user.body.id }] })
    await scim.patch(`/Users/${user.body.id}`, [{ op: 'replace', path: 'active', value: false }])

    const got = await until('three user events', async () => {
      const rs = await r.received()
      return rs.length >= 3 && rs
    })
    const sent = events(got)
    expect(sent.map((e) => e.type)).toEqual(['user.created', 'user.updated', 'user.archived'])
    expect(sent.every((e) => e.data.id === user.body.id)).toBe(true)
    const ids = sent.map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))

    const wh = new Webhook(hook.secret)
    for (const one of got) {
      expect(() => wh.verify(one.body, one.headers)).not.toThrow()
      expect(await signatureValid(hook.secret, one)).toBe(true)
      expect(one.headers['webhook-id']).toBe(`evt_${JSON.parse(one.body).id}`)
      expect(Math.abs(Number(one.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
    }
    // A tampered body fails the check.
    expect(await signatureValid(hook.secret, { ...got[0]!, body: got[0]!.body.replace('user.created', 'user.deleted') })).toBe(false)

    // Exactly what the feed holds for the same ids.
    const feed = await admin('GET', `/events?after=${ids[0]! - 1}&types=user.created,user.updated,user.archived&limit=100`)
    for (const e of sent) expect(feed.body.data.find((f: Json) => f.id === e.id)).toEqual(e)

    const deliveries = await admin('GET', `/webhooks/${hook.id}/deliveries`)
    expect(deliveries.body.data.slice(0, 3).map((d: Json) => [d.status, d.responseStatus, d.attempt])).toEqual([
      ['delivered', 200, 1],
      ['delivered', 200, 1],
      ['delivered', 200, 1],
    ])
  })

  it('retry 5xx and 429 with growing waits, keeping later events behind the failing one', async () => {
    const r = await receiver([503, 429])
    const hook = await webhook(r.url, ['user.created'])
    const { scim } = await newIntegration()
    const first = await scim.post('/Users', userBody(`r1-${crypto.randomUUID()}`))
    await until('the first failure', async () => (await r.received()).length >= 1)
    const second = await scim.post('/Users', userBody(`r2-${crypto.randomUUID()}`))
    const got = await until('both delivered', async () => {
      const rs = await r.received()
      return rs.length >= 4 && rs
    })
    // The first event three times (503, 429, then 200), the second only after it.
    expect(events(got).map((e) => e.data.id)).toEqual([first.body.id, first.body.id, first.body.id, second.body.id])
    const gaps = [got[1]!.at - got[0]!.at, got[2]!.at - got[1]!.at]
    expect(gaps[0]).toBeGreaterThanOrEqual(900)
    expect(gaps[1]).toBeGreaterThanOrEqual(1900)
    const attempts = (await admin('GET', `/webhooks/${hook.id}/deliveries`)).body.data.reverse()
    expect(attempts.map((d: Json) => [d.status, d.responseStatus, d.attempt])).toEqual([
      ['failed', 503, 1],
      ['failed', 429, 2],
      ['delivered', 200, 3],
      ['delivered', 200, 1],
    ])
    expect((await admin('GET', `/webhooks/${hook.id}`)).body).toMatchObject({ status: 'healthy', failingSince: null })
  }, 30_000)

  it('record a 400 as rejected and go on with the next event', async () => {
    const r = await receiver([400])
    const hook = await webhook(r.url, ['user.created'])
    const { scim } = await newIntegration()
    await scim.post('/Users', userBody(`x1-${crypto.randomUUID()}`))
    const second = await scim.post('/Users', userBody(`x2-${crypto.randomUUID()}`))
    const got = await until('the second event', async () => {
      const rs = await r.received()
      return rs.length >= 2 && rs
    })
    expect(events(got)[1]!.data.id).toBe(second.body.id)
    const attempts = (await admin('GET', `/webhooks/${hook.id}/deliveries`)).body.data.reverse()
    expect(attempts.map((d: Json) => d.status)).toEqual(['rejected', 'delivered'])
  })

  it('disable a webhook that has failed for 24 hours, and resume with the same event once re-enabled', async () => {
    const r = await receiver(Array(50).fill(503))
    const hook = await webhook(r.url, ['user.created'])
    const { scim } = await newIntegration()
    const user = await scim.post('/Users', userBody(`d-${crypto.randomUUID()}`))
    await until('a failure', async () => (await admin('GET', `/webhooks/${hook.id}`)).body.status === 'failing')
    // A day of failures, without waiting a day: the failure began 25 hours ago and the next try is due.
    await env.DB.prepare('UPDATE webhooks SET failing_since = ?, next_attempt_at = NULL WHERE id = ?')
      .bind(new Date(Date.now() - 25 * 3600_000).toISOString(), hook.id)
      .run()
    await scim.post('/Users', userBody(`wake-${crypto.randomUUID()}`))
    const disabled = await until('disabled', async () => {
      const w = (await admin('GET', `/webhooks/${hook.id}`)).body
      return w.status === 'disabled' && w
    })
    expect(disabled.enabled).toBe(false)
    expect(disabled.disabledReason).toMatch(/failing for 24 hours.*answered 503/)
    expect((await admin('GET', `/webhooks/${hook.id}/deliveries?limit=1`)).body.data[0]).toMatchObject({
      status: 'dead',
      responseStatus: 503,
    })

    await fetch(`${HOST}/_fake/script`, { method: 'POST', body: JSON.stringify({ path: new URL(r.url).pathname, statuses: [] }) })
    const before = (await r.received()).length
    expect((await admin('PATCH', `/webhooks/${hook.id}`, { enabled: true })).body).toMatchObject({
      status: 'healthy',
      disabledReason: null,
    })
    const got = await until('redelivery', async () => {
      const rs = await r.received()
      return rs.length >= before + 2 && rs
    })
    const after = events(got.slice(before))
    expect(after[0]!.data.id).toBe(user.body.id)
    expect(after[1]!.type).toBe('user.created')
  }, 30_000)

  it('time out a receiver that never answers, and retry', async () => {
    const r = await receiver(['hang'])
    const hook = await webhook(r.url, ['user.created'])
    const { scim } = await newIntegration()
    const user = await scim.post('/Users', userBody(`t-${crypto.randomUUID()}`))
    const got = await until('the retry', async () => {
      const rs = await r.received()
      return rs.length >= 2 && rs
    })
    expect(events(got).map((e) => e.data.id)).toEqual([user.body.id, user.body.id])
    const attempts = (await admin('GET', `/webhooks/${hook.id}/deliveries`)).body.data.reverse()
    expect(attempts.map((d: Json) => [d.status, d.responseStatus, d.error])).toEqual([
      ['failed', null, 'no answer within 10 s'],
      ['delivered', 200, null],
    ])
  }, 40_000)

  it('stop at a name re-pointed to a private address after the webhook was created', async () => {
    const path = `/${crypto.randomUUID()}`
    const hook = await webhook(`https://rebind.fake.test${path}`, ['user.created'])
    await fetch('https://dns.fake.test/_fake/record', {
      method: 'POST',
      body: JSON.stringify({ name: 'rebind.fake.test', A: ['127.0.0.1'] }),
    })
    const { scim } = await newIntegration()
    await scim.post('/Users', userBody(`rb-${crypto.randomUUID()}`))
    const failed = await until('a refused attempt', async () => {
      const d = (await admin('GET', `/webhooks/${hook.id}/deliveries`)).body.data as Json[]
      return d.length > 0 && d
    })
    expect(failed[0]).toMatchObject({ status: 'failed', responseStatus: null })
    expect(failed[0].error).toContain('loopback')
    const received = (await (await fetch(`https://rebind.fake.test/_fake/received?path=${path}`)).json()) as Received[]
    expect(received).toEqual([])
  })

  it('answer a test with a signed ping, leaving the feed position alone', async () => {
    const r = await receiver()
    const hook = await webhook(r.url, ['group.*'])
    const res = await admin('POST', `/webhooks/${hook.id}/test`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ delivered: true, responseStatus: 200, error: null })
    const [ping] = await r.received()
    expect(JSON.parse(ping!.body)).toMatchObject({ type: 'ping', data: { webhookId: hook.id } })
    expect(() => new Webhook(hook.secret).verify(ping!.body, ping!.headers)).not.toThrow()

    const failing = await receiver([500])
    const other = await webhook(failing.url, ['group.*'])
    const bad = await admin('POST', `/webhooks/${other.id}/test`)
    expect(bad.body).toMatchObject({ delivered: false, responseStatus: 500, error: 'answered 500' })
    expect((await admin('GET', `/webhooks/${other.id}`)).body.status).toBe('healthy')
  })
})
