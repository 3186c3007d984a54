import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { sha256Hex } from '../../src/auth/token'
import { ConsoleBrowser, textOf } from '../helpers/console'
import { admin, call, GROUP_SCHEMA, newIntegration, ORIGIN, scimClient, userBody } from '../helpers/http'
import { connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { fakeGoogle, fakeGraph, runSync, waitForRun } from '../helpers/sync'

/** Adds a SCIM integration through the console's form; returns its id and the token the page showed once. */
async function addScim(browser: ConsoleBrowser, name: string) {
  const res = await browser.post('/admin/integrations', { kind: 'scim', name })
  expect(res.status).toBe(201)
  const token = /<code id="scim-token">([^<]+)<\/code>/.exec(res.text)![1]!
  const id = /action="\/admin\/integrations\/([^"]+)"/.exec(res.text)![1]!
  return { id, token, page: res.text }
}

/** The Worker with some of its settings changed, as another deployment would run it. */
function deployedWith(vars: Partial<Env>) {
  return async (request: Request) => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(request, { ...env, ...vars } as Env, ctx)
    await waitOnExecutionContext(ctx)
    return res
  }
}

describe('console sign-in', () => {
  it('sends a visitor without a session to the sign-in form, with the security headers on every page', async () => {
    const browser = new ConsoleBrowser()
    const home = await browser.get('/admin')
    expect(home.status).toBe(303)
    expect(home.headers.get('location')).toBe('/admin/login')
    const login = await browser.get('/admin/login')
    expect(login.status).toBe(200)
    expect(login.text).toContain('name="token"')
    const csp = login.headers.get('content-security-policy')!
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(login.headers.get('x-frame-options')).toBe('DENY')
    expect(login.headers.get('referrer-policy')).toBe('no-referrer')
    expect(login.headers.get('cache-control')).toBe('no-store')
  })

  it('refuses a wrong admin token, and opens a 12-hour HttpOnly, Strict session for the right one', async () => {
    const browser = new ConsoleBrowser()
    const wrong = await browser.request('POST', '/admin/login', { form: { token: 'not-it' } })
    expect(wrong.status).toBe(401)
    expect(textOf(wrong.text)).toContain('That is not the admin token')
    expect(wrong.setCookie).toBeNull()
    const right = await browser.request('POST', '/admin/login', { form: { token: 'test-admin-token' } })
    expect(right.status).toBe(303)
    expect(right.setCookie).toMatch(/^console_session=[^;]+;/)
    expect(right.setCookie).toContain('HttpOnly')
    expect(right.setCookie).toContain('SameSite=Strict')
    expect(right.setCookie).toContain('Path=/admin')
    expect(right.setCookie).toContain('Secure')
    expect(right.setCookie).toContain('Max-Age=43200')
    const home = await browser.get('/admin')
    expect(home.status).toBe(200)
    expect(textOf(home.text)).toContain('Integrations')
  })

  it('is not opened by a SCIM token, an API key or the admin token sent as a bearer header', async () => {
    const { token } = await newIntegration('console-bearer')
    const key = await admin('POST', '/api-keys', { name: 'console-bearer', scope: 'write' })
    for (const bearer of [token, key.body.token, 'test-admin-token']) {
      const res = await call('GET', '/admin', { token: bearer })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/admin/login')
    }
  })

  it('sends an expired session back to sign-in', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    expect((await browser.get('/admin')).status).toBe(200)
    const id = browser.cookie.split('=')[1]!
    // The session's 12 hours are over (KV would also drop the key itself by then).
    await env.TOKENS.put(`console:${await sha256Hex(id)}`, String(Date.now() - 1000))
    const res = await browser.get('/admin/users')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/admin/login')
  })

  it('signing out ends the session: the same cookie no longer opens a page', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const cookie = browser.cookie
    const out = await browser.post('/admin/logout')
    expect(out.status).toBe(303)
    expect(out.setCookie).toMatch(/console_session=;/)
    const replay = new ConsoleBrowser()
    replay.cookie = cookie
    const res = await replay.get('/admin')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/admin/login')
  })
})

describe('console forms', () => {
  it('refuses a form post without the CSRF token, or from another origin, and changes nothing', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const name = `csrf-${Date.now()}`
    const forged = await browser.request('POST', '/admin/integrations', { form: { kind: 'scim', name } })
    expect(forged.status).toBe(403)
    expect(textOf(forged.text)).toContain('did not come from this console')
    const crossSite = await browser.post('/admin/integrations', { kind: 'scim', name }, { origin: 'https://evil.example' })
    expect(crossSite.status).toBe(403)
    const list = await admin('GET', '/integrations')
    expect(list.body.integrations.map((i: { name: string }) => i.name)).not.toContain(name)
  })

  it('adds a SCIM integration, shows its token once behind "I have copied the token", and the token provisions', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const { id, token, page } = await addScim(browser, `Okta ${Date.now()}`)
    expect(page).toContain(`<code id="scim-url">${ORIGIN}/scim/v2</code>`)
    expect(page).toContain('cannot be shown again')
    expect(page).toMatch(/<input type="checkbox" name="copied" value="1" required/)
    const scim = scimClient(token)
    expect((await scim.post('/Users', userBody('console.user@example.com'))).status).toBe(201)
    const details = await browser.get(`/admin/integrations/${id}`)
    expect(details.status).toBe(200)
    // The token is never shown again.
    expect(details.text).not.toContain(token)
    const users = await browser.get(`/admin/users?integration=${id}`)
    expect(textOf(users.text)).toContain('console.user@example.com')
  })

  it('keeps what was typed and shows the reason when a name is taken', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const name = `Taken ${Date.now()}`
    await addScim(browser, name)
    const again = await browser.post('/admin/integrations', { kind: 'scim', name: name.toUpperCase() })
    expect(again.status).toBe(409)
    expect(textOf(again.text)).toContain('already')
    expect(again.text).toContain(`value="${name.toUpperCase()}"`)
  })

  it('renders a hostile displayName as text', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const { id, token } = await addScim(browser, `XSS ${Date.now()}`)
    const scim = scimClient(token)
    const created = await scim.post('/Users', { ...userBody('xss@example.com'), displayName: '<img src=x onerror=alert(1)>' })
    expect(created.status).toBe(201)
    const group = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: '<script>alert(2)</script>' })
    const users = await browser.get(`/admin/users?integration=${id}`)
    expect(users.text).not.toContain('<img src=x')
    expect(users.text).toContain('&lt;img src=x onerror=alert(1)&gt;')
    const user = await browser.get(`/admin/users/${created.body.id}`)
    expect(user.text).not.toContain('<img src=x')
    const groupPage = await browser.get(`/admin/groups/${group.body.id}`)
    expect(groupPage.text).not.toContain('<script>alert(2)')
    expect(groupPage.text).toContain('&lt;script&gt;alert(2)&lt;/script&gt;')
  })

  it('rotates the token: the page shows the new one once and the old one is refused', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const { id, token } = await addScim(browser, `Rotate ${Date.now()}`)
    const rotated = await browser.post(`/admin/integrations/${id}/token`)
    expect(rotated.status).toBe(200)
    const fresh = /<code id="scim-token">([^<]+)<\/code>/.exec(rotated.text)![1]!
    expect(fresh).not.toBe(token)
    expect(textOf(rotated.text)).toContain('The previous token no longer works')
    expect((await scimClient(token).get('/Users')).status).toBe(401)
    expect((await scimClient(fresh).get('/Users')).status).toBe(200)
  })

  it("shows the integration's failed and changing SCIM requests in its activity, not its reads", async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const { id, token } = await addScim(browser, `Activity ${Date.now()}`)
    const scim = scimClient(token)
    // Entra without a mail mapping: a user with no userName.
    const refused = await scim.post('/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], displayName: 'No Name' })
    expect(refused.status).toBe(400)
    await scim.post('/Users', userBody('activity@example.com'))
    await scim.get('/Users?filter=userName eq "activity@example.com"')
    // Written after the response: poll the page briefly.
    let page = ''
    for (let i = 0; i < 50; i++) {
      page = textOf((await browser.get(`/admin/integrations/${id}`)).text)
      if (page.includes('POST /Users 201')) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(page).toContain('POST /Users 400 invalidValue')
    // Once: the token check (which records it) runs once per request.
    expect(page.split('POST /Users 400').length - 1).toBe(1)
    expect(page).toContain(refused.body.detail)
    expect(page).toContain('POST /Users 201')
    expect(page).not.toContain('GET /Users')
  })

  it('deletes an integration only when its name is typed, keeping the users assigned to devices, detached', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const name = `Delete ${Date.now()}`
    const { id, token } = await addScim(browser, name)
    const scim = scimClient(token)
    const kept = await scim.post('/Users', userBody('kept@example.com'))
    await scim.post('/Users', userBody('gone@example.com'))
    expect((await admin('PUT', `/users/${kept.body.id}/devices/console-laptop-${id}`, { name: 'Laptop' })).status).toBe(201)
    const details = textOf((await browser.get(`/admin/integrations/${id}`)).text)
    expect(details).toContain('removes its 1 users without a device')
    expect(details).toContain('1 users assigned to devices are kept')
    const wrong = await browser.post(`/admin/integrations/${id}/delete`, { confirm: 'something else' })
    expect(wrong.status).toBe(400)
    expect(textOf(wrong.text)).toContain(`type the name "${name}" exactly`)
    expect((await admin('GET', `/integrations/${id}`)).status).toBe(200)
    const done = await browser.post(`/admin/integrations/${id}/delete`, { confirm: name })
    expect(done.status).toBe(303)
    expect((await admin('GET', `/integrations/${id}`)).status).toBe(404)
    const user = textOf((await browser.get(`/admin/users/${kept.body.id}`)).text)
    expect(user).toContain(`detached from ${name}`)
    expect(user).toContain('Laptop')
  })
})

describe('console and native imports', () => {
  it('Sync users now starts a run whose panel polls until the run has finished', async () => {
    const { tenant, id } = await connectTenant()
    await seedDirectory(tenant)
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const started = await browser.post(`/admin/integrations/${id}/sync`)
    expect(started.status).toBe(303)
    expect(started.headers.get('location')).toBe(`/admin/integrations/${id}?done=sync#sync`)
    const running = await browser.get(`/admin/integrations/${id}/sync-panel`)
    const runId = (await admin('GET', `/integrations/${id}`)).body.lastSync.runId
    await waitForRun(id, runId)
    const finished = await browser.get(`/admin/integrations/${id}/sync-panel`)
    expect(finished.text).toContain('data-run-status="succeeded"')
    expect(finished.text).not.toContain('data-poll')
    // While it ran, the panel asked to be polled (unless the run finished before the first look).
    if (running.text.includes('data-run-status="running"'))
      expect(running.text).toContain(`data-poll="/admin/integrations/${id}/sync-panel"`)
  })

  it('says an integration whose last run was refused its credentials needs re-authentication, and one after an outage failed', async () => {
    const refused = await connectTenant({ secret: 'wrong-secret' })
    await runSync(refused.id, 'failed')
    const down = await connectTenant()
    await seedDirectory(down.tenant)
    await fakeGraph(down.tenant, { action: 'fail', path: 'delta', status: 503, times: 1000 })
    await runSync(down.id, 'failed')
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const status = async (id: string) =>
      /<span class="status [a-z]+">([^<]+)<\/span>/.exec((await browser.get(`/admin/integrations/${id}`)).text)?.[1]
    expect(await status(refused.id)).toBe('needs re-authentication')
    expect(await status(down.id)).toBe('failed')
  })

  it('connects Google Workspace with a pasted service-account key, and says so when the key is not JSON', async () => {
    const customer = `C-console-${Date.now()}`
    const { serviceAccount } = await fakeGoogle(customer, { action: 'create', admin: 'admin@acme.example' })
    await fakeGoogle(customer, { action: 'users', users: [{ id: 'g1', primaryEmail: 'ada@acme.example', name: { fullName: 'Ada' } }] })
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const name = `Workspace ${customer}`
    const broken = await browser.post('/admin/integrations', {
      kind: 'google',
      name,
      serviceAccount: '{"client_email":',
      adminEmail: 'admin@acme.example',
    })
    expect(broken.status).toBe(400)
    expect(textOf(broken.text)).toContain('serviceAccount: is not JSON')
    const created = await browser.post('/admin/integrations', {
      kind: 'google',
      name,
      serviceAccount: JSON.stringify(serviceAccount),
      adminEmail: 'admin@acme.example',
    })
    expect(created.status).toBe(303)
    const id = created.headers.get('location')!.split('/').pop()!
    expect(textOf((await browser.get(`/admin/integrations/${id}`)).text)).toContain('Connected as admin@acme.example')
    expect((await browser.post(`/admin/integrations/${id}/sync`)).status).toBe(303)
    const runId = (await admin('GET', `/integrations/${id}`)).body.lastSync.runId
    expect((await waitForRun(id, runId)).status).toBe('succeeded')
    const users = textOf((await browser.get(`/admin/users?integration=${id}`)).text)
    expect(users).toContain('ada@acme.example')
  })

  it('lists the integrations with their last runs in as many D1 round trips for six native ones as for three', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const trips = async () => {
      const page = await browser.get('/admin')
      expect(page.status).toBe(200)
      return Number(page.headers.get('x-d1-round-trips'))
    }
    for (let i = 0; i < 3; i++) await runSync((await connectTenant()).id, 'succeeded')
    const few = await trips()
    const more = await Promise.all(Array.from({ length: 3 }, () => connectTenant()))
    for (const t of more) await runSync(t.id, 'succeeded')
    expect(await trips()).toBe(few)
    // Each shows its own last run.
    const page = await browser.get('/admin')
    for (const t of more) expect(page.text).toContain(`/admin/integrations/${t.id}`)
  })

  it('pauses, resumes and renames through the same rules as the admin API', async () => {
    const { id } = await connectTenant()
    const browser = new ConsoleBrowser()
    await browser.signIn()
    await browser.get(`/admin/integrations/${id}`)
    expect((await browser.post(`/admin/integrations/${id}/pause`)).status).toBe(303)
    expect((await admin('GET', `/integrations/${id}`)).body.paused).toBe(true)
    expect(textOf((await browser.get(`/admin/integrations/${id}?done=paused`)).text)).toContain('The schedule is paused')
    expect((await browser.post(`/admin/integrations/${id}/resume`)).status).toBe(303)
    expect((await admin('GET', `/integrations/${id}`)).body.paused).toBe(false)
    const taken = `Taken name ${Date.now()}`
    await newIntegration(taken)
    const clash = await browser.post(`/admin/integrations/${id}/rename`, { name: taken.toLowerCase() })
    expect(clash.status).toBe(409)
    expect(textOf(clash.text)).toContain('already')
    // The admin API's own rules: trimmed, not empty, at most 200 characters.
    const tooLong = await browser.post(`/admin/integrations/${id}/rename`, { name: 'x'.repeat(201) })
    expect(tooLong.status).toBe(400)
    expect(textOf(tooLong.text)).toContain('must be at most 200 characters')
    const renamed = `Renamed ${Date.now()}`
    expect((await browser.post(`/admin/integrations/${id}/rename`, { name: `  ${renamed}  ` })).status).toBe(303)
    expect((await admin('GET', `/integrations/${id}`)).body.name).toBe(renamed)
  })

  it('"Sign in with Azure" hands the browser a start link, which the console follows', async () => {
    const browser = new ConsoleBrowser()
    await browser.signIn()
    const created = await browser.post('/admin/integrations', { kind: 'entra', name: `Consent ${Date.now()}` })
    expect(created.status).toBe(303)
    const id = created.headers.get('location')!.split('/').pop()!
    const page = await browser.get(`/admin/integrations/${id}`)
    expect(textOf(page.text)).toContain('not connected')
    const connect = await browser.post(`/admin/integrations/${id}/connect`)
    expect(connect.status).toBe(200)
    const link = /<a class="button" href="([^"]+)" data-go/.exec(connect.text)![1]!.replace(/&amp;/g, '&')
    expect(link.startsWith(`${ORIGIN}/api/v1/oauth/start?ticket=`)).toBe(true)
    const start = await call('GET', link.slice(ORIGIN.length))
    expect(start.status).toBe(302)
    expect(start.headers.get('location')).toContain('login.fake.test')
  })

  it('refuses at once a consent-based integration on a deployment without the consent app, saying what to set', async () => {
    const deployment = deployedWith({
      MS_CLIENT_ID: undefined,
      MS_CLIENT_SECRET: undefined,
      GOOGLE_CLIENT_ID: undefined,
      GOOGLE_CLIENT_SECRET: undefined,
    })
    const res = await deployment(
      new Request(`${ORIGIN}/api/v1/integrations`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'entra', name: `No app ${Date.now()}` }),
      })
    )
    expect(res.status).toBe(400)
    const body = (await res.json()) as { detail: string }
    expect(body.detail).toContain('set MS_CLIENT_ID and MS_CLIENT_SECRET')
    const browser = new ConsoleBrowser(deployment)
    await browser.signIn()
    const form = await browser.post('/admin/integrations', { kind: 'google', name: `No Google app ${Date.now()}` })
    expect(form.status).toBe(400)
    expect(textOf(form.text)).toContain('set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET')
  })
})

describe('console behind Cloudflare Access', () => {
  const behindAccess = deployedWith({ ACCESS_TEAM_DOMAIN: 'access.fake.test', ACCESS_AUD: 'console-aud' } as Partial<Env>)
  const sign = async (claims: Record<string, unknown>, path = '/_fake/sign') =>
    (await fetch(`https://access.fake.test${path}`, { method: 'POST', body: JSON.stringify(claims) })).text()

  it('opens to a verified Access token, and its forms need that token too', async () => {
    const jwt = await sign({ iss: 'https://access.fake.test', aud: 'console-aud', sub: 'u-1', email: 'it@example.com' })
    const browser = new ConsoleBrowser(behindAccess)
    const home = await browser.get('/admin', { 'cf-access-jwt-assertion': jwt })
    expect(home.status).toBe(200)
    expect(textOf(home.text)).toContain('Signed in with it@example.com')
    // No token form behind Access.
    expect((await browser.get('/admin/login', { 'cf-access-jwt-assertion': jwt })).status).toBe(303)
    const name = `Access ${Date.now()}`
    await browser.get('/admin/integrations/new', { 'cf-access-jwt-assertion': jwt })
    const added = await browser.post('/admin/integrations', { kind: 'scim', name }, { 'cf-access-jwt-assertion': jwt })
    expect(added.status).toBe(201)
    const forged = await browser.request('POST', '/admin/integrations', {
      form: { kind: 'scim', name: `${name} again` },
      headers: { 'cf-access-jwt-assertion': jwt },
    })
    expect(forged.status).toBe(403)
  })

  it('refuses no token, another audience, an expired token, one signed by another key, and an admin-token session', async () => {
    const claims = { iss: 'https://access.fake.test', aud: 'console-aud', sub: 'u-1' }
    const tokens = [
      undefined,
      await sign({ ...claims, aud: 'other-app' }),
      await sign({ ...claims, expiresIn: '-1m' }),
      await sign(claims, '/_fake/sign-unknown'),
      await sign({ ...claims, iss: 'https://evil.cloudflareaccess.com' }),
    ]
    for (const jwt of tokens) {
      const res = await new ConsoleBrowser(behindAccess).get('/admin', jwt ? { 'cf-access-jwt-assertion': jwt } : {})
      expect(res.status).toBe(401)
      expect(textOf(res.text)).toMatch(/Access token/)
    }
    const session = new ConsoleBrowser()
    await session.signIn()
    const withCookie = new ConsoleBrowser(behindAccess)
    withCookie.cookie = session.cookie
    expect((await withCookie.get('/admin')).status).toBe(401)
  })
})
