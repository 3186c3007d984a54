import { html, raw } from 'hono/html'
import type { FeedEvent } from '../../directory/events'
import type { GroupView, UserView } from '../../directory/views'
import type { IntegrationRow } from '../../directory/schema'
import { page, row, table, when, type Html } from './layout'
import type { Caller } from './session'

/*
 * Users and groups as the console lists them: the read API's own views (src/directory/views.ts),
 * paged by its cursors.
 */

export interface ListFilters {
  status?: 'active' | 'archived'
  q?: string
  integration?: string
  cursor?: string
}

const query = (base: string, params: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => Boolean(e[1])))
  const text = q.toString()
  return text ? `${base}?${text}` : base
}

function filterForm(base: string, f: ListFilters, integrations: IntegrationRow[], label: string): Html {
  return html`<form class="filters" method="get" action="${base}" role="search">
    ${f.status ? html`<input type="hidden" name="status" value="${f.status}" />` : ''}
    <div><label for="q">Search</label><input id="q" name="q" type="search" value="${f.q ?? ''}" placeholder="${label}" /></div>
    <div>
      <label for="integration">Integration</label>
      <select id="integration" name="integration">
        <option value="">All integrations</option>
        ${integrations.map((i) => html`<option value="${i.id}" ${f.integration === i.id ? raw('selected') : ''}>${i.name}</option>`)}
      </select>
    </div>
    <div><button type="submit" class="secondary">Apply</button></div>
  </form>`
}

const more = (base: string, f: ListFilters, next: string | null) =>
  next ? html`<p class="actions"><a class="button secondary" href="${query(base, { ...f, cursor: next })}">Next page</a></p>` : ''

const origin = (u: UserView) =>
  u.integration
    ? html`<a href="/admin/integrations/${u.integration.id}">${u.integration.name}</a>`
    : u.detachedFrom
      ? html`<span class="muted">detached from ${u.detachedFrom.name}</span>`
      : html`<span class="muted">none</span>`

export function usersPage(
  caller: Caller,
  f: ListFilters,
  integrations: IntegrationRow[],
  users: { data: UserView[]; nextCursor: string | null }
): Html {
  const status = f.status ?? 'active'
  const tab = (value: 'active' | 'archived', label: string) =>
    html`<a
      href="${query('/admin/users', { status: value, integration: f.integration, q: f.q })}"
      ${status === value ? raw('aria-current="page"') : ''}
      >${label}</a
    >`
  return page(
    'Users',
    html`<h1>Users</h1>
      <nav class="tabs" aria-label="Status">${tab('active', 'Active')} ${tab('archived', 'Archived')}</nav>
      ${filterForm('/admin/users', { ...f, status }, integrations, 'name, userName or email')}
      ${table(
        ['Name', 'userName', 'Email', 'Integration', 'Devices'],
        users.data.map((u) =>
          row(
            html`<a href="/admin/users/${u.id}"
              >${u.displayName ?? ([u.givenName, u.familyName].filter(Boolean).join(' ') || u.userName)}</a
            >`,
            u.userName,
            u.email ?? '',
            origin(u),
            u.devices.length
          )
        ),
        `No ${status} users${f.q ? ' match' : ''}.`
      )}
      ${more('/admin/users', { ...f, status }, users.nextCursor)}`,
    { caller, section: 'users' }
  )
}

const eventRows = (events: FeedEvent[]) =>
  events.length === 0
    ? html`<p class="muted">None among the feed's recent events.</p>`
    : table(
        ['When', 'Event', 'Id'],
        events.map((e) => row(when(e.occurredAt), e.type, e.id)),
        ''
      )

export function userPage(caller: Caller, u: UserView, groups: GroupView[], events: FeedEvent[]): Html {
  const facts: [string, string | null][] = [
    ['userName', u.userName],
    ['Display name', u.displayName],
    ['Given name', u.givenName],
    ['Family name', u.familyName],
    ['Email', u.email],
    ['Title', u.title],
    ['Department', u.department],
    ['External id', u.externalId],
    ['Id', u.id],
  ]
  return page(
    u.displayName ?? u.userName,
    html`<h1>${u.displayName ?? u.userName}</h1>
      <section class="card">
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class="status ${u.status === 'active' ? 'ok' : 'warn'}">${u.status}</span>
            ${u.archivedAt ? html`since ${when(u.archivedAt)}` : ''}
          </dd>
          <dt>Integration</dt>
          <dd>${origin(u)}</dd>
          ${facts.map(
            ([k, v]) =>
              html`<dt>${k}</dt>
                <dd>${v ?? html`<span class="muted">none</span>`}</dd>`
          )}
          <dt>Created</dt>
          <dd>${when(u.createdAt)}</dd>
          <dt>Updated</dt>
          <dd>${when(u.updatedAt)}</dd>
        </dl>
      </section>
      <section class="card">
        <h2>Groups</h2>
        ${
          groups.length === 0
            ? html`<p class="muted">Not a member of any group.</p>`
            : html`<ul>
                ${groups.map((g) => html`<li><a href="/admin/groups/${g.id}">${g.displayName}</a></li>`)}
              </ul>`
        }
      </section>
      <section class="card">
        <h2>Devices</h2>
        ${
          u.devices.length === 0
            ? html`<p class="muted">No device is assigned.</p>`
            : html`<ul>
                ${u.devices.map((d) => html`<li>${d.name ?? d.id} <span class="muted">(${d.id}, since ${when(d.assignedAt)})</span></li>`)}
              </ul>`
        }
      </section>
      <section class="card">
        <h2>Recent events</h2>
        ${eventRows(events)}
      </section>`,
    { caller, section: 'users' }
  )
}

export function groupsPage(
  caller: Caller,
  f: ListFilters,
  integrations: IntegrationRow[],
  groups: { data: GroupView[]; nextCursor: string | null }
): Html {
  return page(
    'Groups',
    html`<h1>Groups</h1>
      ${filterForm('/admin/groups', f, integrations, 'group name')}
      ${table(
        ['Name', 'Integration', 'Members'],
        groups.data.map((g) =>
          row(
            html`<a href="/admin/groups/${g.id}">${g.displayName}</a>`,
            g.integration ? html`<a href="/admin/integrations/${g.integration.id}">${g.integration.name}</a>` : '',
            g.memberCount
          )
        ),
        `No groups${f.q ? ' match' : ''}.`
      )}
      ${more('/admin/groups', f, groups.nextCursor)}`,
    { caller, section: 'groups' }
  )
}

export function groupPage(caller: Caller, g: GroupView, members: { data: UserView[]; nextCursor: string | null }, cursor?: string): Html {
  return page(
    g.displayName,
    html`<h1>${g.displayName}</h1>
      <section class="card">
        <dl class="facts">
          <dt>Integration</dt>
          <dd>${g.integration ? html`<a href="/admin/integrations/${g.integration.id}">${g.integration.name}</a>` : ''}</dd>
          <dt>Members</dt>
          <dd>${g.memberCount}</dd>
          <dt>External id</dt>
          <dd>${g.externalId ?? html`<span class="muted">none</span>`}</dd>
          <dt>Updated</dt>
          <dd>${when(g.updatedAt)}</dd>
        </dl>
      </section>
      <h2>Members${cursor ? ' (continued)' : ''}</h2>
      ${table(
        ['Name', 'userName', 'Status'],
        members.data.map((u) => row(html`<a href="/admin/users/${u.id}">${u.displayName ?? u.userName}</a>`, u.userName, u.status)),
        'No user members.'
      )}
      ${more(`/admin/groups/${g.id}`, {}, members.nextCursor)}`,
    { caller, section: 'groups' }
  )
}
