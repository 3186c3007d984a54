import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { html } from 'hono/html'
import { secureHeaders } from 'hono/secure-headers'
import { listActivity } from '../../directory/activity'
import { usersKeptForDevices } from '../../directory/devices'
import { recentEventsAbout } from '../../directory/events'
import { getIntegration, listIntegrations, notDeleting } from '../../directory/integrations'
import { getGroupView, getUserView, groupMembersPage, listGroupViews, listUserViews, userGroupsPage } from '../../directory/views'
import type { AppEnv } from '../../http/context'
import { ScimError, unauthorized } from '../../scim/errors'
import { failedAuth, refuseIfBlocked } from '../../auth/failed-auth'
import { startRun } from '../../sync/runs'
import { deleteIntegration } from '../integration-deletion'
import { addIntegration, changeIntegration, connectLink, details, detailsOfAll, rotateToken } from '../integrations'
import { CONSOLE_CSS, CONSOLE_JS } from './assets'
import { consentPage, detailPage, listPage, newPage, syncPanel, tokenPage } from './integration-pages'
import { groupPage, groupsPage, userPage, usersPage, type ListFilters } from './directory-pages'
import { errorBox, page } from './layout'
import { accessConfigured, csrfHolds, currentCaller, signIn, signOut, type Caller } from './session'
import * as z from 'zod'

/*
 * The admin console under /admin: server-rendered pages, every action a plain form post. Each page
 * and action calls the same modules as the admin API (../integrations.ts, the directory), so the
 * console adds no rule of its own: only who may call (./session.ts) and how the answer looks.
 */

// A service-account key is a few KB; nothing a console form sends comes close to this.
const MAX_FORM_BYTES = 64 * 1024

const NOTICES: Record<string, string> = {
  sync: 'A sync started. Its progress shows below.',
  renamed: 'Renamed.',
  paused: 'The schedule is paused: no scheduled run starts until you resume it. Sync users now still works.',
  resumed: 'The schedule is resumed.',
  connected: 'Connected.',
  deleting: 'Deleting: the integration is being removed in the background.',
}

const filtersSchema = z.object({
  status: z.enum(['active', 'archived']).optional().catch(undefined),
  q: z.string().trim().max(200).optional().catch(undefined),
  integration: z.string().max(200).optional().catch(undefined),
  cursor: z.string().max(2000).optional().catch(undefined),
})

const filtersOf = (c: Context): ListFilters => {
  const f = filtersSchema.parse(c.req.query())
  return { status: f.status, q: f.q || undefined, integration: f.integration || undefined, cursor: f.cursor || undefined }
}

/** A form field as a trimmed string, or undefined when it was left empty. */
function field(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name]
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

/** The directory's answer to a refused action, in its own words; anything else is a bug and is rethrown. */
function refusal(e: unknown): ScimError {
  if (e instanceof ScimError && e.status < 500) return e
  throw e
}

const signedIn = createMiddleware<AppEnv>(async (c, next) => {
  const caller = await currentCaller(c)
  if (caller === undefined) return c.redirect('/admin/login', 303)
  if ('reason' in caller)
    return c.html(
      page(
        'Not signed in',
        html`<h1>Not signed in</h1>
          ${errorBox(caller.reason)}`
      ),
      401
    )
  c.set('caller', caller)
  // Every form post carries the session's CSRF token (and SameSite=Strict keeps the cookie home).
  if (c.req.method === 'POST') {
    const form = await c.req.parseBody()
    if (!(await csrfHolds(caller, form._csrf)))
      return c.html(
        page(
          'Refused',
          html`<h1>Refused</h1>
            ${errorBox('This form is out of date or did not come from this console. Reload the page and try again.')}`,
          { caller }
        ),
        403
      )
  }
  await next()
})

async function integrationDetail(c: Context<AppEnv>, id: string, extra: { error?: string; notice?: string } = {}) {
  const db = c.get('db')
  const row = await getIntegration(db, id)
  const [d, keptForDevices, activity] = await Promise.all([details(c, row), usersKeptForDevices(db, id), listActivity(db, id)])
  return detailPage(c.get('caller'), d, { keptForDevices, activity, ...extra })
}

export const consoleRoutes = new Hono<AppEnv>({ strict: false })
  .use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
    }),
    async (c, next) => {
      await next()
      if (!c.res.headers.has('cache-control')) c.res.headers.set('Cache-Control', 'no-store')
    },
    // A form post must come from this origin, on top of the session's CSRF token: hono/csrf's rule
    // (Origin or Sec-Fetch-Site), here so that the refusal is a console page rather than a bare 403.
    async (c, next) => {
      if (c.req.method !== 'POST') return next()
      const sameSite = c.req.header('sec-fetch-site') === 'same-origin' || c.req.header('origin') === new URL(c.req.url).origin
      if (!sameSite) return refusedForm(c, 403)
      await next()
    },
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) =>
        c.html(
          page(
            'Too large',
            html`<h1>Too large</h1>
              ${errorBox(`A console form is at most ${MAX_FORM_BYTES / 1024} KB.`)}`
          ),
          413
        ),
    })
  )
  .get('/assets/console.css', (c) =>
    c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' })
  )
  .get('/assets/console.js', (c) =>
    c.body(CONSOLE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' })
  )
  .get('/login', (c) => {
    if (accessConfigured(c.env)) return c.redirect('/admin', 303)
    return c.html(loginPage())
  })
  .post('/login', async (c) => {
    if (accessConfigured(c.env)) return c.redirect('/admin', 303)
    refuseIfBlocked(c.req.raw)
    const form = await c.req.parseBody()
    const token = typeof form.token === 'string' ? form.token.trim() : ''
    if (!c.env.ADMIN_TOKEN)
      return c.html(loginPage('The console is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN).'), 401)
    if (!token || !(await signIn(c, token))) {
      // Counted like any failed authentication (src/auth/failed-auth.ts): 429 for a client that keeps failing.
      const refusal = await failedAuth(
        c.env,
        c.req.raw,
        unauthorized('That is not the admin token (ADMIN_TOKEN). Nothing was changed.')
      ).catch((e: ScimError) => e)
      return c.html(loginPage(refusal.detail), refusal.status === 429 ? 429 : 401)
    }
    return c.redirect('/admin', 303)
  })
  .use('*', signedIn)
  .post('/logout', async (c) => {
    await signOut(c, c.get('caller'))
    return c.redirect('/admin/login', 303)
  })
  .get('/', async (c) => {
    const rows = await listIntegrations(c.get('db'))
    const deleted = c.req.query('deleted')?.slice(0, 200)
    return c.html(listPage(c.get('caller'), await detailsOfAll(c, rows), deleted))
  })
  .get('/integrations/new', (c) => c.html(newPage(c.get('caller'))))
  .post('/integrations', async (c) => {
    const form = await c.req.parseBody()
    const kind = field(form, 'kind')
    const name = field(form, 'name')
    const retry = (error: string, status: 400 | 409 = 400) => c.html(newPage(c.get('caller'), { kind, name, error }), status)
    let serviceAccount: unknown
    const key = field(form, 'serviceAccount')
    if (kind === 'google' && key !== undefined) {
      try {
        serviceAccount = JSON.parse(key)
      } catch {
        return retry('serviceAccount: is not JSON; paste the whole key file the Google Cloud console downloaded.')
      }
    }
    const input = {
      kind,
      name,
      ...(kind === 'entra'
        ? { tenantId: field(form, 'tenantId'), clientId: field(form, 'clientId'), clientSecret: field(form, 'clientSecret') }
        : {}),
      ...(kind === 'google' ? { serviceAccount, adminEmail: field(form, 'adminEmail') } : {}),
    }
    try {
      const { row, token } = await addIntegration(c, input)
      if (row.kind === 'scim')
        return c.html(
          tokenPage(c.get('caller'), { id: row.id, name: row.name, scimUrl: (await details(c, row)).scimUrl }, token, false),
          201
        )
      return c.redirect(`/admin/integrations/${row.id}`, 303)
    } catch (e) {
      const refused = refusal(e)
      return retry(refused.detail, refused.status === 409 ? 409 : 400)
    }
  })
  .get('/integrations/:id', async (c) => {
    const done = c.req.query('done')
    return c.html(await integrationDetail(c, c.req.param('id'), { notice: done ? NOTICES[done] : undefined }))
  })
  .get('/integrations/:id/sync-panel', async (c) => {
    const row = await getIntegration(c.get('db'), c.req.param('id'))
    return c.html(syncPanel(await details(c, row)))
  })
  .post('/integrations/:id/:action{sync|pause|resume|rename}', async (c) => {
    const id = c.req.param('id')
    const action = c.req.param('action')
    try {
      if (action === 'sync') await startRun(c.get('db'), c.env.SYNC, notDeleting(await getIntegration(c.get('db'), id)), 'manual')
      else if (action === 'rename') await changeIntegration(c, id, { name: field(await c.req.parseBody(), 'name') ?? '' })
      else await changeIntegration(c, id, { paused: action === 'pause' })
    } catch (e) {
      const refused = refusal(e)
      return c.html(await integrationDetail(c, id, { error: refused.detail }), refused.status as 400)
    }
    const done = action === 'rename' ? 'renamed' : action === 'pause' ? 'paused' : action === 'resume' ? 'resumed' : 'sync'
    return c.redirect(`/admin/integrations/${id}?done=${done}${action === 'sync' ? '#sync' : ''}`, 303)
  })
  .post('/integrations/:id/connect', async (c) => {
    const id = c.req.param('id')
    try {
      const link = await connectLink(c, id, false)
      return c.html(consentPage(c.get('caller'), link.row.name, link.url, link.row.kind))
    } catch (e) {
      return c.html(await integrationDetail(c, id, { error: refusal(e).detail }), 400)
    }
  })
  .post('/integrations/:id/token', async (c) => {
    const row = notDeleting(await getIntegration(c.get('db'), c.req.param('id')))
    const token = await rotateToken(c, row.id)
    return c.html(tokenPage(c.get('caller'), { id: row.id, name: row.name, scimUrl: (await details(c, row)).scimUrl }, token, true))
  })
  .post('/integrations/:id/delete', async (c) => {
    const id = c.req.param('id')
    const row = await getIntegration(c.get('db'), id)
    if (field(await c.req.parseBody(), 'confirm') !== row.name)
      return c.html(await integrationDetail(c, id, { error: `Nothing was deleted: type the name "${row.name}" exactly to confirm.` }), 400)
    const { status } = await deleteIntegration(c.env, c.get('d1'), id)
    return c.redirect(status === 202 ? `/admin/integrations/${id}?done=deleting` : `/admin?deleted=${encodeURIComponent(row.name)}`, 303)
  })
  .get('/users', async (c) => {
    const f = filtersOf(c)
    const [integrations, users] = await Promise.all([
      listIntegrations(c.get('db')),
      listUserViews(c.get('d1'), { status: f.status ?? 'active', q: f.q, integrationId: f.integration, cursor: f.cursor, limit: 50 }),
    ])
    return c.html(usersPage(c.get('caller'), f, integrations, users))
  })
  .get('/users/:id', async (c) => {
    const id = c.req.param('id')
    const [user, groups, events] = await Promise.all([
      getUserView(c.get('d1'), id),
      userGroupsPage(c.get('d1'), id, 100, undefined),
      recentEventsAbout(c.get('d1'), id),
    ])
    return c.html(userPage(c.get('caller'), user, groups.data, events))
  })
  .get('/groups', async (c) => {
    const f = filtersOf(c)
    const [integrations, groups] = await Promise.all([
      listIntegrations(c.get('db')),
      listGroupViews(c.get('d1'), { q: f.q, integrationId: f.integration, cursor: f.cursor, limit: 50 }),
    ])
    return c.html(groupsPage(c.get('caller'), f, integrations, groups))
  })
  .get('/groups/:id', async (c) => {
    const id = c.req.param('id')
    const cursor = filtersOf(c).cursor
    const [group, members] = await Promise.all([
      getGroupView(c.get('d1'), id),
      groupMembersPage(c.get('d1'), { groupId: id, status: 'all', cursor, limit: 50 }),
    ])
    return c.html(groupPage(c.get('caller'), group, members, cursor))
  })
  .onError((err, c) => {
    const caller = c.get('caller') as Caller | undefined
    if (err instanceof ScimError && err.status < 500)
      return c.html(
        page(
          'Not possible',
          html`<h1>Not possible</h1>
            ${errorBox(err.detail)}
            <p><a href="/admin">Back to integrations</a></p>`,
          { caller }
        ),
        err.status as 400
      )
    console.error(
      JSON.stringify({ msg: 'console error', path: new URL(c.req.url).pathname, error: String(err), stack: (err as Error).stack })
    )
    return c.html(
      page(
        'Error',
        html`<h1>Something went wrong</h1>
          ${errorBox('The console failed to handle this request. It has been logged; retrying may help.')}`,
        { caller }
      ),
      500
    )
  })

function refusedForm(c: Context<AppEnv>, status: 403, caller?: Caller) {
  const message = 'This form is out of date or did not come from this console; nothing was changed. Reload the page and try again.'
  return c.html(
    page(
      'Refused',
      html`<h1>Refused</h1>
        ${errorBox(message)}`,
      { caller }
    ),
    status
  )
}

function loginPage(error?: string) {
  return page(
    'Sign in',
    html`<h1>Sign in</h1>
      ${errorBox(error)}
      <form method="post" action="/admin/login" class="card">
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" required autocomplete="current-password" />
        <p class="hint">The ADMIN_TOKEN secret of this deployment (npm start prints it). The session lasts 12 hours.</p>
        <div class="actions"><button type="submit">Sign in</button></div>
      </form>`
  )
}
