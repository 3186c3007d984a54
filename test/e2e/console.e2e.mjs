// `npm run test:e2e`: the admin console in a real Chromium against the Worker under `wrangler dev`,
// as an IT admin would use it. Each test builds on the one before (one world, started once).
import { AxeBuilder } from '@axe-core/playwright'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { root, startWorld } from './harness.mjs'

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const XSS = '<img src=x onerror=alert(1)>'

// Screenshots go to docs/screenshots with E2E_SCREENSHOTS=1 (npm run screenshots), else under .wrangler/.
const shots = process.env.E2E_SCREENSHOTS ? join(root, 'docs', 'screenshots') : join(root, '.wrangler', 'e2e-screenshots')
mkdirSync(shots, { recursive: true })

let world
let page
const dialogs = []
const state = {}

async function scim(method, path, token, body) {
  const res = await fetch(`${world.base}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

async function api(method, path, body) {
  const res = await fetch(`${world.base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${world.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** No serious or critical axe violation on the page as it is now. */
async function accessible(name) {
  const result = await new AxeBuilder({ page }).analyze()
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `axe found serious or critical violations on ${name}`
  )
}

/**
 * Every control shown on the page takes the focus by Tab alone: links, buttons, fields, one stop
 * per radio group, in at most twice as many presses as there are controls.
 */
async function keyboardReachable(name) {
  const controls = await page.evaluate(() => {
    const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')]
    const seen = new Set()
    return (
      all
        // What is shown: the fields of a closed <details> are reached once it is opened.
        .filter((el) => el.checkVisibility())
        .filter((el) => {
          if (el.type !== 'radio') return true
          if (seen.has(el.name)) return false
          seen.add(el.name)
          return true
        })
        .map((el, i) => {
          el.setAttribute('data-kbd', String(i))
          return String(i)
        })
    )
  })
  const reached = new Set()
  await page.evaluate(() => document.activeElement?.blur())
  for (let i = 0; i < controls.length * 2 + 2; i++) {
    await page.keyboard.press('Tab')
    const at = await page.evaluate(() => {
      const el = document.activeElement
      if (el?.type === 'radio') return document.querySelector(`input[type=radio][name="${el.name}"]`)?.getAttribute('data-kbd')
      return el?.getAttribute('data-kbd')
    })
    if (at) reached.add(at)
  }
  const missed = controls.filter((c) => !reached.has(c))
  assert.deepEqual(missed, [], `controls on ${name} that Tab never reaches`)
}

const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })

describe('admin console in Chromium', () => {
  before(async () => {
    world = await startWorld()
    const context = await world.browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    // An XSS payload that ran would open a dialog.
    page.on('dialog', async (dialog) => {
      dialogs.push(dialog.message())
      await dialog.dismiss()
    })
  })
  after(async () => {
    await world?.stop()
  })

  it('signs in with the admin token, by keyboard alone', async () => {
    await page.goto(`${world.base}/admin`)
    assert.match(page.url(), /\/admin\/login$/)
    await accessible('the sign-in page')
    await shot('sign-in')
    // Tab to the token field, type, Enter: no mouse.
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.id === 'token')); i++) await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'token')
    await page.keyboard.type(world.adminToken)
    await page.keyboard.press('Enter')
    await page.waitForURL(`${world.base}/admin`)
    assert.equal(await page.locator('h1').textContent(), 'Integrations')
    await accessible('the integrations page')
  })

  it('adds a SCIM integration, whose token shown once provisions a user and a group', async () => {
    await page.getByRole('link', { name: 'Add integration' }).click()
    await accessible('the add-integration page')
    await keyboardReachable('the add-integration page')
    await shot('add-integration')
    await page.getByLabel('SCIM', { exact: false }).first().check()
    await page.getByLabel('Name').fill('Okta production')
    await page.getByRole('button', { name: 'Create integration' }).click()
    state.token = (await page.locator('#scim-token').textContent()).trim()
    assert.match(state.token, /^scim_/)
    assert.equal((await page.locator('#scim-url').textContent()).trim(), `${world.base}/scim/v2`)
    await accessible('the token page')
    await shot('scim-token')
    // "Done" needs the box ticked (a required checkbox: no script involved).
    await page.getByRole('button', { name: 'Done' }).click()
    assert.match(page.url(), /\/admin\/integrations\/new$|\/admin\/integrations$/)
    await page.getByLabel('I have copied the token').check()
    await page.getByRole('button', { name: 'Done' }).click()
    await page.waitForURL(/\/admin\/integrations\/[^/?]+\?copied=1$/)
    state.scimIntegration = page.url().split('/').pop().split('?')[0]

    const user = await scim('POST', '/Users', state.token, {
      schemas: [USER_SCHEMA],
      userName: 'grace@example.com',
      name: { givenName: 'Grace', familyName: 'Hopper' },
      displayName: 'Grace Hopper',
      emails: [{ value: 'grace@example.com', primary: true }],
    })
    assert.equal(user.status, 201)
    state.userId = user.body.id
    const xss = await scim('POST', '/Users', state.token, { schemas: [USER_SCHEMA], userName: 'xss@example.com', displayName: XSS })
    assert.equal(xss.status, 201)
    const group = await scim('POST', '/Groups', state.token, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Engineering',
      members: [{ value: state.userId }],
    })
    assert.equal(group.status, 201)
  })

  it('shows them under Users and Groups, a hostile displayName as text', async () => {
    await page.getByRole('link', { name: 'Users', exact: true }).first().click()
    await page.waitForURL(/\/admin\/users/)
    await page.getByRole('cell', { name: 'grace@example.com' }).first().waitFor()
    assert.equal(await page.getByText(XSS, { exact: true }).count(), 1)
    assert.equal(await page.locator('img[src=x]').count(), 0)
    await accessible('the users page')
    await keyboardReachable('the users page')
    await shot('users')
    await page.getByRole('link', { name: 'Grace Hopper' }).click()
    await page.getByRole('link', { name: 'Engineering' }).waitFor()
    await accessible('a user page')
    await shot('user')
    await page.getByRole('link', { name: 'Groups', exact: true }).first().click()
    await accessible('the groups page')
    await page.getByRole('link', { name: 'Engineering' }).click()
    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor()
    await accessible('a group page')
    assert.deepEqual(dialogs, [])
  })

  it('finds a user archived over SCIM under Archived', async () => {
    const archived = await scim('PATCH', `/Users/${state.userId}`, state.token, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    })
    assert.equal(archived.status, 200)
    await page.goto(`${world.base}/admin/users`)
    assert.equal(await page.getByRole('link', { name: 'Grace Hopper' }).count(), 0)
    await page.getByRole('link', { name: 'Archived' }).click()
    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor()
  })

  it("shows a failed SCIM request in the integration's activity", async () => {
    // Entra with no mail mapped for userName: the request it would send.
    const refused = await scim('POST', '/Users', state.token, { schemas: [USER_SCHEMA], displayName: 'No userName' })
    assert.equal(refused.status, 400)
    await page.goto(`${world.base}/admin/integrations/${state.scimIntegration}`)
    // Written just after the response.
    for (let i = 0; i < 20 && !(await page.getByText(refused.body.detail).count()); i++) {
      await new Promise((r) => setTimeout(r, 250))
      await page.reload()
    }
    assert.equal(await page.getByText(refused.body.detail).count(), 1, 'the failed request is listed once')
    await accessible('the integration page')
    await keyboardReachable('the integration page')
    await shot('integration-scim')
  })

  it('rotates the token: the new one is shown once and the old one is refused', async () => {
    await page.getByRole('button', { name: 'Rotate token' }).click()
    const fresh = (await page.locator('#scim-token').textContent()).trim()
    assert.notEqual(fresh, state.token)
    assert.equal((await scim('GET', '/Users', state.token)).status, 401)
    assert.equal((await scim('GET', '/Users', fresh)).status, 200)
    state.token = fresh
    await page.getByLabel('I have copied the token').check()
    await page.getByRole('button', { name: 'Done' }).click()
  })

  it('adds an Entra integration against the fake and watches Sync users now reach succeeded', async () => {
    await page.goto(`${world.base}/admin/integrations/new`)
    await page.getByLabel('Microsoft Entra ID').check()
    await page.getByLabel('Name').fill('Contoso Entra')
    await page.getByText('Entra ID: use your own app registration').click()
    await page.getByLabel('Directory (tenant) id').fill('demo')
    await page.getByLabel('Application (client) id').fill('demo-app')
    await page.getByLabel('Client secret').fill('demo-secret')
    await page.getByRole('button', { name: 'Create integration' }).click()
    await page.waitForURL(/\/admin\/integrations\/[^/]+$/)
    await page.getByRole('button', { name: 'Sync users now' }).click()
    await page.waitForURL(/done=sync/)
    // console.js replaces the panel while the run goes on; no reload here.
    const before = page.url()
    await page.locator('[data-run-status="succeeded"]').waitFor({ timeout: 60_000 })
    // Without a reload, the status above the panel follows too.
    await page.locator('.facts .status', { hasText: 'connected' }).first().waitFor()
    assert.equal(page.url(), before)
    assert.match(await page.locator('#sync').textContent(), /[1-9][0-9]* created/)
    await accessible('a native integration page')
    await shot('integration-entra')
  })

  it('deletes the SCIM integration once its name is typed; the user with a device stays, detached', async () => {
    assert.equal((await api('PUT', `/users/${state.userId}/devices/mac-001`, { name: 'MacBook Pro' })).status, 201)
    await page.goto(`${world.base}/admin/integrations/${state.scimIntegration}`)
    await page.getByText('1 users assigned to devices are kept').waitFor()
    await page.getByLabel("Type the integration's name to confirm").fill('Okta')
    await page.getByRole('button', { name: 'Delete integration' }).click()
    await page.getByText('Nothing was deleted').waitFor()
    await page.getByLabel("Type the integration's name to confirm").fill('Okta production')
    await page.getByRole('button', { name: 'Delete integration' }).click()
    await page.waitForURL(/\/admin(\?|$)/)
    assert.equal(await page.getByRole('link', { name: 'Okta production' }).count(), 0)
    await page.getByText('Deleted Okta production.').waitFor()
    await shot('integrations')
    await page.goto(`${world.base}/admin/users/${state.userId}`)
    await page.getByText('detached from Okta production').waitFor()
    await page.getByText('MacBook Pro').waitFor()
  })

  it('refuses a form post without the CSRF token', async () => {
    const res = await page.request.post(`${world.base}/admin/integrations`, {
      form: { kind: 'scim', name: 'Forged' },
      headers: { origin: world.base },
    })
    assert.equal(res.status(), 403)
    const list = await api('GET', '/integrations')
    assert.equal(
      list.body.integrations.some((i) => i.name === 'Forged'),
      false
    )
  })

  it('looks tidy on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${world.base}/admin/users?status=archived`)
    // Nothing wider than the screen but the tables, which scroll in their own box.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone's screen`)
    await shot('users-phone')
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('signing out ends the session', async () => {
    await page.goto(`${world.base}/admin`)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/admin\/login$/)
    await page.goto(`${world.base}/admin/users`)
    assert.match(page.url(), /\/admin\/login$/)
    assert.deepEqual(dialogs, [])
  })
})
