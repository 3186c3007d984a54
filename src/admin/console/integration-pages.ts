import { html, raw } from 'hono/html'
import type { deletionView } from '../integration-deletion'
import type { details } from '../integrations'
import type { ScimActivityRow } from '../../directory/schema'
import { csrfField, errorBox, page, row, table, when, type Html } from './layout'
import type { Caller } from './session'

/*
 * Integrations as the console shows them: the list, "Add integration", the token shown once, and
 * View details with its actions. The data comes from ../integrations.ts, as the admin API's does.
 */

export type Details = Awaited<ReturnType<typeof details>>
type Run = NonNullable<Extract<Details, { lastSync: unknown }>['lastSync']>

const KIND_LABEL: Record<string, string> = { scim: 'SCIM', entra: 'Microsoft Entra ID', google: 'Google Workspace' }
export const kindLabel = (kind: string) => KIND_LABEL[kind] ?? kind

/** One word for where an integration stands, and how it should look. */
export function statusOf(d: Details): { label: string; tone: 'ok' | 'bad' | 'busy' | 'warn' } {
  if (d.status === 'deleting') return { label: 'deleting', tone: 'busy' }
  if (!('connected' in d)) return { label: 'connected', tone: 'ok' }
  if (!d.connected) return { label: 'not connected', tone: 'warn' }
  const last = 'lastSync' in d ? d.lastSync : null
  if (last?.status === 'running') return { label: 'syncing', tone: 'busy' }
  if (last?.status === 'held') return { label: 'held for review', tone: 'warn' }
  if (last?.status === 'failed')
    // A refused credential: another run cannot fix it until an admin signs in again.
    return last.errorKind === 'auth' ? { label: 'needs re-authentication', tone: 'bad' } : { label: 'failed', tone: 'bad' }
  if (d.paused) return { label: 'paused', tone: 'warn' }
  return { label: 'connected', tone: 'ok' }
}

const badge = (d: Details) => {
  const s = statusOf(d)
  return html`<span class="status ${s.tone}">${s.label}</span>`
}

const counts = (d: Details) =>
  'counts' in d ? html`${d.counts.activeUsers} active, ${d.counts.archivedUsers} archived users; ${d.counts.groups} groups` : ''

function lastSeen(d: Details): Html {
  if ('lastSync' in d && d.lastSync) return html`sync ${d.lastSync.status}, ${when(d.lastSync.finishedAt ?? d.lastSync.startedAt)}`
  if ('lastActivityAt' in d && d.kind === 'scim') return html`SCIM ${when(d.lastActivityAt)}`
  return html`<span class="muted">no sync yet</span>`
}

export function listPage(caller: Caller, all: Details[], deleted?: string): Html {
  const rows = all.map((d) =>
    row(html`<a href="/admin/integrations/${d.id}">${d.name}</a>`, kindLabel(d.kind), badge(d), counts(d), lastSeen(d))
  )
  return page(
    'Integrations',
    html`<h1>Integrations</h1>
      ${deleted ? html`<div class="notice" role="status">Deleted ${deleted}.</div>` : ''}
      <div class="actions"><a class="button" href="/admin/integrations/new">Add integration</a></div>
      ${
        all.length === 0
          ? html`<div class="card">
              <p>
                No integration yet. Add one to receive users from Entra ID, Okta, OneLogin or Google over SCIM, or to import them from
                Microsoft Entra ID or Google Workspace.
              </p>
            </div>`
          : table(['Name', 'Kind', 'Status', 'Users and groups', 'Last sync or SCIM activity'], rows, '')
      }`,
    { caller, section: 'integrations' }
  )
}

export interface NewForm {
  kind?: string
  name?: string
  error?: string
}

export function newPage(caller: Caller, form: NewForm = {}): Html {
  const kind = form.kind ?? 'scim'
  const option = (value: string, title: string, hint: string) =>
    html`<label
      ><input type="radio" name="kind" value="${value}" ${kind === value ? raw('checked') : ''} required />
      <span><strong>${title}</strong><br /><span class="hint">${hint}</span></span></label
    >`
  return page(
    'Add integration',
    html`<h1>Add integration</h1>
      ${errorBox(form.error)}
      <form method="post" action="/admin/integrations" class="card">
        ${csrfField(caller)}
        <fieldset>
          <legend>Kind</legend>
          <div class="kinds">
            ${option('scim', 'SCIM', 'Entra ID, Okta, OneLogin or Google push users here with a URL and a token.')}
            ${option('entra', 'Microsoft Entra ID', 'This service imports users and groups from Microsoft Graph every four hours.')}
            ${option('google', 'Google Workspace', 'This service imports users and groups from the Directory API every four hours.')}
          </div>
        </fieldset>
        <label for="name">Name</label>
        <input id="name" name="name" type="text" required maxlength="200" value="${form.name ?? ''}" autocomplete="off" />
        <p class="hint">Unique; it names the integration in this console and in the API.</p>
        <details>
          <summary>Entra ID: use your own app registration instead of "Sign in with Azure"</summary>
          <p class="hint">The app needs the application permissions User.Read.All and GroupMember.Read.All, with admin consent.</p>
          <label for="tenantId">Directory (tenant) id</label><input id="tenantId" name="tenantId" type="text" autocomplete="off" />
          <label for="clientId">Application (client) id</label><input id="clientId" name="clientId" type="text" autocomplete="off" />
          <label for="clientSecret">Client secret</label><input id="clientSecret" name="clientSecret" type="password" autocomplete="off" />
        </details>
        <details>
          <summary>Google Workspace: use a service account instead of "Sign in with Google"</summary>
          <p class="hint">A service account with domain-wide delegation for the Directory API's read-only user and group scopes.</p>
          <label for="serviceAccount">Service account JSON key</label><textarea id="serviceAccount" name="serviceAccount"></textarea>
          <label for="adminEmail">Super admin the service account acts as</label
          ><input id="adminEmail" name="adminEmail" type="email" autocomplete="off" />
        </details>
        <div class="actions"><button type="submit">Create integration</button><a href="/admin">Cancel</a></div>
      </form>`,
    { caller, section: 'integrations' }
  )
}

/** A SCIM token, on the one page that ever shows it. */
export function tokenPage(caller: Caller, d: { id: string; name: string; scimUrl: string }, token: string, rotated: boolean): Html {
  return page(
    rotated ? 'New SCIM token' : 'Integration created',
    html`<h1>${rotated ? 'New SCIM token for' : 'Created'} ${d.name}</h1>
      <div class="card">
        <p>
          Paste these into your identity provider's provisioning settings (Tenant URL / SCIM connector base URL and Secret token / API
          token).
        </p>
        <label for="scim-url">SCIM URL</label>
        <div class="secret">
          <code id="scim-url">${d.scimUrl}</code><button type="button" class="secondary" data-copy="scim-url">Copy URL</button>
        </div>
        <label for="scim-token">Token</label>
        <div class="secret">
          <code id="scim-token">${token}</code><button type="button" class="secondary" data-copy="scim-token">Copy token</button>
        </div>
        <p class="notice">
          This token is shown only now and cannot be shown again. ${rotated ? 'The previous token no longer works.' : ''}
        </p>
        <form method="get" action="/admin/integrations/${d.id}">
          <label class="check"><input type="checkbox" name="copied" value="1" required /> I have copied the token</label>
          <div class="actions"><button type="submit">Done</button></div>
        </form>
      </div>`,
    { caller, section: 'integrations' }
  )
}

/** The last run, as a fragment that replaces itself while the run goes on (console.js polls it). */
export function syncPanel(d: Details): Html {
  if (!('lastSync' in d)) return html``
  const run = d.lastSync as Run | null
  const running = run?.status === 'running'
  return html`<section
    id="sync"
    class="card"
    aria-live="polite"
    ${running ? raw(`data-poll="/admin/integrations/${d.id}/sync-panel"`) : ''}
  >
    <h2>Last sync</h2>
    ${
      run
        ? html`<dl class="facts">
            <dt>Status</dt>
            <dd data-run-status="${run.status}">
              <span class="status ${running ? 'busy' : run.status === 'succeeded' ? 'ok' : 'bad'}">${run.status}</span
              >${run.dryRun ? ' (preview)' : ''}
            </dd>
            <dt>Started</dt>
            <dd>${when(run.startedAt)} (${run.trigger === 'cron' ? 'scheduled' : 'Sync users now'})</dd>
            <dt>Finished</dt>
            <dd>${running ? html`<span class="muted">still running</span>` : when(run.finishedAt)}</dd>
            <dt>Pages read</dt>
            <dd>${run.progress.pages}</dd>
            <dt>Users</dt>
            <dd>
              ${run.counts.usersCreated} created, ${run.counts.usersUpdated} updated, ${run.counts.usersArchived} archived,
              ${run.counts.usersRemoved} removed
            </dd>
            <dt>Groups changed</dt>
            <dd>${run.counts.groupsChanged}</dd>
            ${
              run.error
                ? html`<dt>Error</dt>
                    <dd class="error">${run.error}</dd>`
                : ''
            }
            ${
              'held' in d && d.held
                ? html`<dt>Held</dt>
                    <dd>${d.held.reason}</dd>`
                : ''
            }
          </dl>`
        : html`<p class="muted">No sync has run yet.</p>`
    }
    <p class="hint">
      Next scheduled run:
      ${'nextScheduledRun' in d && d.nextScheduledRun ? when(d.nextScheduledRun) : 'none (paused, held or not connected)'}
    </p>
  </section>`
}

const activityTable = (activity: ScimActivityRow[]) =>
  html`<section class="card">
    <h2>Recent provisioning activity</h2>
    ${
      activity.length === 0
        ? html`<p class="muted">No SCIM request has changed anything or failed yet.</p>`
        : table(
            ['When', 'Request', 'Status', 'Detail'],
            activity.map((a) =>
              row(
                when(a.at),
                html`<code>${a.method} ${a.path}</code>`,
                html`<span class="status ${a.status < 400 ? 'ok' : 'bad'}">${a.status}</span>${a.scimType ? html` ${a.scimType}` : ''}`,
                a.detail ?? ''
              )
            ),
            ''
          )
    }
  </section>`

const post = (caller: Caller, action: string, label: string, className = '') =>
  html`<form class="inline" method="post" action="${action}">
    ${csrfField(caller)}<button type="submit" class="${className}">${label}</button>
  </form>`

export function detailPage(
  caller: Caller,
  d: Details,
  extra: { keptForDevices: number; activity: ScimActivityRow[]; error?: string; notice?: string }
): Html {
  const name = d.name
  const deleting = (d as { progress?: ReturnType<typeof deletionView>['progress'] }).progress
  if (deleting)
    return page(
      name,
      html`<h1>${name}</h1>
        <div class="card">
          <p>
            <span class="status busy">deleting</span> Started ${when(deleting.startedAt)}: ${deleting.removedUsers} users removed,
            ${deleting.keptUsers} kept for their devices, ${deleting.removedGroups} groups removed so far.
          </p>
        </div>`,
      { caller, section: 'integrations' }
    )
  const native = d.kind !== 'scim'
  const source = 'source' in d ? (d.source as Record<string, string> | null) : null
  const connectedAs = source?.adminEmail ?? source?.clientEmail ?? (source?.tenantId ? `tenant ${source.tenantId}` : null)
  const total = d.counts.activeUsers + d.counts.archivedUsers
  return page(
    name,
    html`<h1>${name}</h1>
      ${errorBox(extra.error)} ${extra.notice ? html`<div class="notice" role="status">${extra.notice}</div>` : ''}
      <section class="card">
        <dl class="facts">
          <dt>Kind</dt>
          <dd>${kindLabel(d.kind)}</dd>
          <dt>Status</dt>
          <dd>${badge(d)}</dd>
          ${
            native
              ? html`<dt>Connected as</dt>
                  <dd>${connectedAs ?? html`<span class="muted">not connected</span>`}</dd>`
              : html`<dt>SCIM URL</dt>
                  <dd>
                    <code id="scim-url">${d.scimUrl}</code> <button type="button" class="secondary" data-copy="scim-url">Copy</button>
                  </dd>`
          }
          <dt>Created</dt>
          <dd>${when(d.createdAt)}</dd>
          <dt>Users and groups</dt>
          <dd>${counts(d)}</dd>
          ${
            native
              ? ''
              : html`<dt>Last SCIM activity</dt>
                  <dd>${when(d.lastActivityAt)}</dd>`
          }
        </dl>
        <div class="actions">
          ${native ? post(caller, `/admin/integrations/${d.id}/sync`, 'Sync users now') : ''}
          ${native ? post(caller, `/admin/integrations/${d.id}/connect`, source ? 'Re-authenticate' : d.kind === 'entra' ? 'Sign in with Azure' : 'Sign in with Google', 'secondary') : ''}
          ${native && 'paused' in d ? post(caller, `/admin/integrations/${d.id}/${d.paused ? 'resume' : 'pause'}`, d.paused ? 'Resume schedule' : 'Pause schedule', 'secondary') : ''}
          ${native ? '' : post(caller, `/admin/integrations/${d.id}/token`, 'Rotate token', 'secondary')}
          <a href="/admin/users?integration=${d.id}">Users</a>
          <a href="/admin/groups?integration=${d.id}">Groups</a>
        </div>
      </section>
      ${syncPanel(d)} ${native ? '' : activityTable(extra.activity)}
      <section class="card">
        <h2>Rename</h2>
        <form method="post" action="/admin/integrations/${d.id}/rename">
          ${csrfField(caller)}<label for="new-name">Name</label
          ><input id="new-name" name="name" type="text" required maxlength="200" value="${d.name}" />
          <div class="actions"><button type="submit" class="secondary">Rename</button></div>
        </form>
      </section>
      <section class="card">
        <h2>Delete integration</h2>
        <p>
          Deleting removes its ${total - extra.keptForDevices} users without a device and its ${d.counts.groups} groups.
          ${extra.keptForDevices} users assigned to devices are kept, detached from it.
          ${native ? 'Imports stop.' : 'Its SCIM token stops working at once.'}
        </p>
        <form method="post" action="/admin/integrations/${d.id}/delete">
          ${csrfField(caller)}<label for="confirm-name">Type the integration's name to confirm</label
          ><input id="confirm-name" name="confirm" type="text" required autocomplete="off" />
          <div class="actions"><button type="submit" class="danger">Delete integration</button></div>
        </form>
      </section>`,
    { caller, section: 'integrations' }
  )
}

/** After "Sign in with Azure / Google": the consent start link, followed at once by console.js. */
export const consentPage = (caller: Caller, name: string, url: string, kind: string) =>
  page(
    'Continue to sign-in',
    html`<h1>Sign in for ${name}</h1>
      <div class="card">
        <p>Continue at ${kind === 'entra' ? 'Microsoft' : 'Google'} with an administrator account of the directory to import.</p>
        <p><a class="button" href="${url}" data-go>Continue to ${kind === 'entra' ? 'Microsoft' : 'Google'} sign-in</a></p>
        <p class="hint">The link works once, for a few minutes.</p>
      </div>`,
    { caller, section: 'integrations' }
  )
