import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { seal } from '../../src/auth/seal'
import { admin, ERROR_SCHEMA, ORIGIN, scimClient, type Json } from '../helpers/http'
import { fakeGoogle, fakeGraph, runSync, waitForRun } from '../helpers/sync'

/* "Sign in with Azure": admin consent for the deployment's app (MS_CLIENT_ID/MS_CLIENT_SECRET). */

let n = 0
async function consentingTenant() {
  const tenant = `consent-${Date.now()}-${++n}`
  await fakeGraph(tenant, { action: 'settings', clientId: 'consent-app', clientSecret: 'consent-secret' })
  await fakeGraph(tenant, {
    action: 'upsertUsers',
    users: [
      { id: 'c1', userPrincipalName: 'one@consent.example' },
      { id: 'c2', userPrincipalName: 'two@consent.example' },
    ],
  })
  return tenant
}

/**
 * GET /connect, then its start link opened as the admin's browser would: where it redirects, and
 * the cookie it sets (to send back with the callback).
 */
async function start(id: string, query = '') {
  const connectRes = await admin('GET', `/integrations/${id}/connect${query}`)
  expect(connectRes.status).toBe(200)
  expect(connectRes.body.url.startsWith(`${ORIGIN}/api/v1/oauth/start?ticket=`)).toBe(true)
  const opened = await exports.default.fetch(connectRes.body.url, { redirect: 'manual' })
  expect(opened.status).toBe(302)
  const setCookie = opened.headers.get('set-cookie') ?? ''
  return {
    startUrl: connectRes.body.url as string,
    consentUrl: opened.headers.get('location')!,
    setCookie,
    cookie: setCookie.split(';')[0]!,
  }
}

/** The browser's way back from the consent page: our callback, with the start's cookie unless told otherwise. */
async function callback(url: string, cookie?: string) {
  const res = await exports.default.fetch(url, cookie ? { headers: { cookie } } : {})
  return { status: res.status, text: await res.text(), setCookie: res.headers.get('set-cookie') }
}

/** The start, the (fake) consent page, and Microsoft's redirect back to our callback. */
async function connect(id: string, tenant: string, decline = false, query = '') {
  const { consentUrl, cookie } = await start(id, query)
  await fakeGraph(tenant, { action: 'consentAs', decline })
  const microsoft = await fetch(consentUrl, { redirect: 'manual' })
  const back = microsoft.headers.get('location')!
  expect(back.startsWith(`${ORIGIN}/api/v1/oauth/microsoft/callback?`)).toBe(true)
  return { consentUrl, back, cookie, ...(await callback(back, cookie)) }
}

describe('Sign in with Azure (admin consent)', () => {
  it('connects an integration through consent, then imports with the deployment app', async () => {
    const tenant = await consentingTenant()
    const created = await admin('POST', '/integrations', { kind: 'entra', name: `Consent ${tenant}` })
    expect(created.status).toBe(201)
    expect((await admin('GET', `/integrations/${created.body.id}`)).body).toMatchObject({ connected: false, source: null })

    const { consentUrl, status, text } = await connect(created.body.id, tenant)
    const url = new URL(consentUrl)
    expect(url.origin + url.pathname).toBe('https://login.fake.test/organizations/adminconsent')
    expect(url.searchParams.get('client_id')).toBe('consent-app')
    expect(url.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/api/v1/oauth/microsoft/callback`)
    expect(status).toBe(200)
    expect(text).toContain('Connected')

    const details = await admin('GET', `/integrations/${created.body.id}`)
    expect(details.body).toMatchObject({ connected: true, source: { mode: 'consent', tenantId: tenant } })
    expect(JSON.stringify(details.body)).not.toContain('consent-secret')

    expect(await runSync(created.body.id)).toMatchObject({ status: 'succeeded', counts: { usersCreated: 2 } })
    const users = await scimClient(created.body.token).get('/Users')
    expect(users.body.totalResults).toBe(2)
  })

  it('re-authenticates without losing users or the incremental position', async () => {
    const tenant = await consentingTenant()
    const { body } = await admin('POST', '/integrations', { kind: 'entra', name: `Reauth ${tenant}` })
    await connect(body.id, tenant)
    await runSync(body.id)
    const before = await env.DB.prepare('SELECT users_delta_link FROM integrations WHERE id = ?').bind(body.id).first<Json>()
    expect(before.users_delta_link).toBeTruthy()
    await connect(body.id, tenant)
    const after = await env.DB.prepare('SELECT users_delta_link FROM integrations WHERE id = ?').bind(body.id).first<Json>()
    expect(after.users_delta_link).toBe(before.users_delta_link)
    expect((await scimClient(body.token).get('/Users')).body.totalResults).toBe(2)
    expect((await runSync(body.id)).mode).toBe('delta')
  })

  it('refuses a consent from another tenant unless the re-authentication was started to change tenant', async () => {
    const first = await consentingTenant()
    const other = await consentingTenant()
    const created = await admin('POST', '/integrations', { kind: 'entra', name: `Tenant move ${first}` })
    expect((await connect(created.body.id, first)).status).toBe(200)
    expect(await runSync(created.body.id)).toMatchObject({ status: 'succeeded', counts: { usersCreated: 2 } })

    // A leaked (or mistaken) link completed in another tenant: nothing changes.
    const moved = await connect(created.body.id, other)
    expect(moved.status).toBe(409)
    expect(moved.text).toContain('changeTenant=true')
    const stored = await env.DB.prepare('SELECT users_delta_link FROM integrations WHERE id = ?').bind(created.body.id).first<Json>()
    expect(stored!.users_delta_link).not.toBeNull()
    expect((await admin('GET', `/integrations/${created.body.id}`)).body.source).toMatchObject({ tenantId: first })

    // Started as a tenant change, it goes through, and the next run lists the new tenant in full.
    expect((await connect(created.body.id, other, false, '?changeTenant=true')).status).toBe(200)
    expect((await admin('GET', `/integrations/${created.body.id}`)).body.source).toMatchObject({ tenantId: other })
    expect((await runSync(created.body.id)).mode).toBe('full')
  })

  it('holds the first run after a move to another tenant whatever its size, until an admin approves it', async () => {
    const first = await consentingTenant()
    const other = await consentingTenant()
    await fakeGraph(other, { action: 'deleteUser', id: 'c1', how: 'hard' })
    const created = await admin('POST', '/integrations', { kind: 'entra', name: `Held move ${first}` })
    await connect(created.body.id, first)
    await runSync(created.body.id, 'succeeded')
    // Even with the safeguard's limits off, a tenant move archives nobody unapproved.
    await admin('PATCH', `/integrations/${created.body.id}`, { safeguard: { percent: 0, maxUsers: 0 } })
    const moved = await connect(created.body.id, other, false, '?changeTenant=true')
    expect(moved.text).toContain('archives no user of the old tenant until you approve it')
    expect((await admin('GET', `/integrations/${created.body.id}`)).body.safeguard.holdNextRemovals).toBe(true)

    const held = await runSync(created.body.id, 'held')
    expect(held.heldReason).toMatch(/first run since the integration was connected to another tenant, and it would archive 1/)
    expect(held.changes.users).toMatchObject([{ userName: 'one@consent.example', action: 'archive' }])
    expect((await scimClient(created.body.token).get('/Users?filter=active eq true')).body.totalResults).toBe(2)

    expect((await admin('POST', `/integrations/${created.body.id}/syncs/${held.runId}/approve`)).status).toBe(202)
    expect((await waitForRun(created.body.id, held.runId)).status).toBe('succeeded')
    expect((await scimClient(created.body.token).get('/Users?filter=active eq true')).body.totalResults).toBe(1)
    // Approved once: later runs are judged by the limits again (here: off).
    expect((await admin('GET', `/integrations/${created.body.id}`)).body.safeguard.holdNextRemovals).toBe(false)
  })

  it('binds a consent to the browser that opened its start link, and the link opens once', async () => {
    const tenant = await consentingTenant()
    const created = await admin('POST', '/integrations', { kind: 'entra', name: `Bound ${tenant}` })
    const opened = await start(created.body.id)
    // This browser's only, sent back to the OAuth routes only, for the link's 15 minutes; Lax so
    // Microsoft's redirect back carries it.
    expect(opened.setCookie).toMatch(/^consent_nonce=[\w-]{20,};/)
    for (const attribute of ['Max-Age=900', 'Path=/api/v1/oauth', 'HttpOnly', 'Secure', 'SameSite=Lax'])
      expect(opened.setCookie).toContain(attribute)

    // Opened again (a leak, a replay), the start link starts nothing and sets no cookie.
    const again = await exports.default.fetch(opened.startUrl, { redirect: 'manual' })
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('already opened')
    expect(again.headers.get('set-cookie')).toBeNull()

    await fakeGraph(tenant, { action: 'consentAs' })
    const back = (await fetch(opened.consentUrl, { redirect: 'manual' })).headers.get('location')!
    // The state link finished in another browser, with no cookie or with another flow's, connects nothing.
    const refused = { status: 400, text: expect.stringContaining('not started in this browser') }
    expect(await callback(back)).toMatchObject(refused)
    expect(await callback(back, (await start(created.body.id)).cookie)).toMatchObject(refused)
    expect((await admin('GET', `/integrations/${created.body.id}`)).body.connected).toBe(false)

    // In the browser that started it, it connects, and the cookie is cleared.
    const done = await callback(back, opened.cookie)
    expect(done.status).toBe(200)
    expect(done.setCookie).toMatch(/^consent_nonce=;.*Max-Age=0/)
    expect((await admin('GET', `/integrations/${created.body.id}`)).body).toMatchObject({ source: { tenantId: tenant } })
  })

  it('keeps only the newest start link of an integration, and drops Secure on local plain http only', async () => {
    const created = await admin('POST', '/integrations', { kind: 'entra', name: `Newest link ${Date.now()}` })
    const older = await admin('GET', `/integrations/${created.body.id}/connect`)
    const newer = await admin('GET', `/integrations/${created.body.id}/connect`)
    expect(older.body.url).not.toBe(newer.body.url)
    expect(Date.parse(newer.body.expiresAt) - Date.now()).toBeGreaterThan(14 * 60 * 1000)
    expect((await exports.default.fetch(older.body.url, { redirect: 'manual' })).status).toBe(400)
    const local = await exports.default.fetch(newer.body.url.replace(ORIGIN, 'http://localhost:8787'), { redirect: 'manual' })
    expect(local.status).toBe(302)
    expect(local.headers.get('set-cookie')).toContain('HttpOnly')
    expect(local.headers.get('set-cookie')).not.toContain('Secure')
    const tampered = await exports.default.fetch(`${ORIGIN}/api/v1/oauth/start?ticket=forged`, { redirect: 'manual' })
    expect(tampered.status).toBe(400)
    expect(await tampered.text()).toContain('not valid')
  })

  it("refuses a callback whose tenant Microsoft would not issue the deployment's app a token for", async () => {
    const tenant = await consentingTenant()
    const created = await admin('POST', '/integrations', { kind: 'entra', name: `Forged tenant ${tenant}` })
    const { consentUrl, cookie } = await start(created.body.id)
    const state = new URL(consentUrl).searchParams.get('state')!
    const forged = `${ORIGIN}/api/v1/oauth/microsoft/callback?admin_consent=True&tenant=not-a-consenting-tenant&state=${encodeURIComponent(state)}`
    expect(await callback(forged, cookie)).toMatchObject({ status: 400, text: expect.stringContaining('would not issue') })
    expect((await admin('GET', `/integrations/${created.body.id}`)).body).toMatchObject({ connected: false })
  })

  it('reports a declined, forged or expired consent, and changes nothing', async () => {
    const tenant = await consentingTenant()
    const { body } = await admin('POST', '/integrations', { kind: 'entra', name: `Declined ${tenant}` })
    const declined = await connect(body.id, tenant, true)
    expect(declined.status).toBe(400)
    expect(declined.text).toContain('declined to consent')
    const forged = await exports.default.fetch(`${ORIGIN}/api/v1/oauth/microsoft/callback?admin_consent=True&tenant=evil&state=forged`)
    expect(forged.status).toBe(400)
    expect(await forged.text()).toContain('not valid')
    const stale = await seal(env, JSON.stringify({ integrationId: body.id, exp: Date.now() - 1000, nonce: 'x' }), 'microsoft-admin-consent')
    const expired = await exports.default.fetch(
      `${ORIGIN}/api/v1/oauth/microsoft/callback?admin_consent=True&tenant=${tenant}&state=${encodeURIComponent(stale)}`
    )
    expect(expired.status).toBe(400)
    expect(await expired.text()).toContain('expired')
    expect((await admin('GET', `/integrations/${body.id}`)).body.connected).toBe(false)
  })

  it('needs both or none of tenantId/clientId/clientSecret, and offers consent only to entra integrations', async () => {
    const partial = await admin('POST', '/integrations', { kind: 'entra', name: `Partial ${Date.now()}`, tenantId: 't' })
    expect(partial.status).toBe(400)
    expect(partial.body.detail).toMatch(/^clientId: give tenantId, clientId and clientSecret together/)
    const scimOnly = await admin('POST', '/integrations', { kind: 'scim', name: `NoConsent ${Date.now()}` })
    expect((await admin('GET', `/integrations/${scimOnly.body.id}/connect`)).status).toBe(400)
    // A sync of an integration never connected is refused at once, saying what to do.
    const notConnected = await admin('POST', '/integrations', { kind: 'entra', name: `Unconnected ${Date.now()}` })
    const refused = await admin('POST', `/integrations/${notConnected.body.id}/sync`)
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({
      schemas: [ERROR_SCHEMA],
      detail: expect.stringContaining('is not connected yet: run "Sign in with Azure"'),
    })
    expect((await admin('GET', `/integrations/${notConnected.body.id}`)).body.lastSync).toBeNull()
  })
})

describe('Sign in with Google (admin OAuth, offline access)', () => {
  async function signIn(id: string) {
    const { consentUrl, cookie } = await start(id)
    const url = new URL(consentUrl)
    expect(url.origin + url.pathname).toBe('https://oauth2.fake.test/o/oauth2/v2/auth')
    expect(url.searchParams.get('access_type')).toBe('offline')
    expect(url.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/api/v1/oauth/google/callback`)
    const back = (await fetch(url, { redirect: 'manual' })).headers.get('location')!
    return callback(back, cookie)
  }

  it('connects with an admin sign-in, imports with the refresh token, and explains a revoked grant', async () => {
    const customer = `Cg${Date.now()}`
    await fakeGoogle(customer, { action: 'create', admin: 'boss@acme.example' })
    await fakeGoogle(customer, {
      action: 'users',
      users: [
        { id: 'x1', primaryEmail: 'one@acme.example' },
        { id: 'x2', primaryEmail: 'two@acme.example' },
      ],
    })
    await fakeGoogle(customer, { action: 'signIn', email: 'boss@acme.example' })
    const { body } = await admin('POST', '/integrations', { kind: 'google', name: `Google sign-in ${customer}` })
    expect((await admin('GET', `/integrations/${body.id}`)).body.connected).toBe(false)

    const connected = await signIn(body.id)
    expect(connected.status).toBe(200)
    expect(connected.text).toContain('boss@acme.example')
    const details = await admin('GET', `/integrations/${body.id}`)
    expect(details.body).toMatchObject({ connected: true, source: { mode: 'oauth', adminEmail: 'boss@acme.example' } })
    const row = await env.DB.prepare('SELECT sealed_secrets FROM integrations WHERE id = ?').bind(body.id).first<Json>()
    expect(row.sealed_secrets).not.toContain('1//fake')

    expect(await runSync(body.id)).toMatchObject({ status: 'succeeded', counts: { usersCreated: 2 } })

    // The admin's grant is revoked: the run fails and says to re-authenticate; users stay.
    await fakeGoogle(customer, { action: 'revokeRefreshTokens' })
    const failed = await runSync(body.id)
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/re-authenticate/) })
    expect((await scimClient(body.token).get('/Users')).body.totalResults).toBe(2)

    // Re-authenticate: sign in again, and the next run works with the same users.
    await signIn(body.id)
    expect(await runSync(body.id)).toMatchObject({ status: 'succeeded', counts: { usersCreated: 0 } })
  })

  it("refuses an ID token that Google's keys did not sign, and connects nothing", async () => {
    const customer = `Cf${Date.now()}`
    await fakeGoogle(customer, { action: 'create', admin: 'boss@acme.example' })
    await fakeGoogle(customer, { action: 'signIn', email: 'boss@acme.example' })
    const { body } = await admin('POST', '/integrations', { kind: 'google', name: `Forged ID token ${customer}` })
    await fakeGoogle(customer, { action: 'forgeIdTokens' })
    try {
      const res = await signIn(body.id)
      expect(res.status).toBe(400)
      expect(res.text).toContain('did not verify')
      expect((await admin('GET', `/integrations/${body.id}`)).body.connected).toBe(false)
    } finally {
      await fakeGoogle(customer, { action: 'forgeIdTokens', forge: false })
    }
    // Signed by Google's keys, it connects.
    expect((await signIn(body.id)).status).toBe(200)
  })

  it('refuses a forged or expired sign-in, and a Microsoft consent state on the Google callback', async () => {
    const callback = async (state: string) => {
      const res = await exports.default.fetch(`${ORIGIN}/api/v1/oauth/google/callback?code=x&state=${encodeURIComponent(state)}`)
      return { status: res.status, text: await res.text() }
    }
    expect(await callback('forged')).toMatchObject({ status: 400, text: expect.stringContaining('not valid') })
    const { body } = await admin('POST', '/integrations', { kind: 'google', name: `Expired ${Date.now()}` })
    const stale = await seal(env, JSON.stringify({ integrationId: body.id, exp: Date.now() - 1000, nonce: 'x' }), 'google-admin-consent')
    expect(await callback(stale)).toMatchObject({ status: 400, text: expect.stringContaining('expired') })
    // A state sealed for the Microsoft flow does not open here: each flow's states are its own.
    const microsoft = await seal(
      env,
      JSON.stringify({ integrationId: body.id, exp: Date.now() + 60_000, nonce: 'x' }),
      'microsoft-admin-consent'
    )
    expect(await callback(microsoft)).toMatchObject({ status: 400, text: expect.stringContaining('not valid') })
    expect((await admin('GET', `/integrations/${body.id}`)).body.connected).toBe(false)
  })
})
