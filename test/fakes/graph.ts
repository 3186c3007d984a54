import { Chaos, garble, type ChaosSettings } from './chaos'
/*
 * A fake Microsoft identity platform + Graph, faithful to what the sync relies on
 * (shared/reference/idp-and-sources.md §C1): client-credentials tokens that expire, /users/delta and
 * /groups/delta with $skiptoken paging and a final @odata.deltaLink, @removed with reason
 * "changed" (soft delete) or "deleted", members@delta (a large group's members split across pages
 * that repeat the group), empty pages that still carry a nextLink, 429 with Retry-After, 503,
 * 410 Gone for delta tokens that have expired, faults at random pages (chaos.ts) and a clock of its
 * own (clockSkewMs: its Date headers, Retry-After dates and token lifetimes run on it). Like Graph, an update in a delta carries only the id
 * and the properties that changed (a group whose membership alone changed: only members@delta);
 * a created or restored object carries everything. For scoped imports: /groups/{id}, its direct
 * /members and its /transitiveMembers.
 *
 * It is a plain (Request) => Response handler: Node tests call it directly, the workerd tests get it
 * through Miniflare's outboundService, and `npm run fakes` serves it on loopback. Paths are
 * host-agnostic: /{tenant}/oauth2/v2.0/token, /v1.0/…, and /_fake/… to set it up.
 */

export interface FakeUser {
  id: string
  userPrincipalName: string
  displayName?: string
  givenName?: string
  surname?: string
  mail?: string
  jobTitle?: string
  department?: string
  accountEnabled?: boolean
}

export interface FakeGroup {
  id: string
  displayName: string
  description?: string
  /** Ids of member users or groups. */
  members: string[]
}

interface Change {
  seq: number
  kind: 'user' | 'group'
  id: string
  /** upsert: created or changed; soft/hard: @removed "changed" / "deleted". */
  what: 'upsert' | 'soft' | 'hard'
  /** For an upsert: the properties that changed, or 'all' for a created (or restored) object. */
  fields?: string[] | 'all'
  added?: string[]
  removed?: string[]
}

interface Fault {
  path: RegExp
  status: number
  retryAfter?: number
  times: number
}

export class FakeTenant {
  now = () => Date.now() + this.clockSkewMs
  users = new Map<string, FakeUser>()
  groups = new Map<string, FakeGroup>()
  softDeleted = new Set<string>()
  changes: Change[] = []
  seq = 0
  faults: Fault[] = []
  /** Delta tokens minted before this sequence number answer 410 Gone (syncStateNotFound). */
  expiredBefore = 0
  pageSize = 100
  /** Members per group object in one page: a larger group is repeated over several pages. */
  membersPerPage = 20
  tokenLifetime = 3600
  requests: string[] = []
  /** Client-credentials token requests made for this tenant, granted or refused. */
  tokenRequests = 0
  /** When set, pages fail at random, each at most once (test/fakes/chaos.ts). */
  chaos: Chaos | undefined
  /** How far this tenant's clock is ahead of the caller's (negative: behind). */
  clockSkewMs = 0
  /** When set, the app may read only this many users (a permission or scope change): full listings hold only these. */
  visibleUsers: number | undefined

  constructor(
    readonly id: string,
    readonly clientId: string,
    readonly clientSecret: string
  ) {}

  private log(change: Omit<Change, 'seq'>) {
    this.changes.push({ ...change, seq: ++this.seq })
  }

  upsertUser(user: Partial<FakeUser> & { id: string }) {
    const previous = this.users.get(user.id)
    const fields = previous ? changedFields(previous, user) : 'all'
    this.users.set(user.id, { accountEnabled: true, ...previous, ...user } as FakeUser)
    this.softDeleted.delete(user.id)
    this.log({ kind: 'user', id: user.id, what: 'upsert', fields })
  }

  deleteUser(id: string, how: 'soft' | 'hard') {
    if (how === 'soft') this.softDeleted.add(id)
    else this.softDeleted.delete(id)
    this.users.delete(id)
    for (const g of this.groups.values())
      if (g.members.includes(id))
        this.setMembers(
          g.id,
          g.members.filter((m) => m !== id)
        )
    this.log({ kind: 'user', id, what: how })
  }

  upsertGroup(group: Omit<FakeGroup, 'members'> & { members?: string[] }) {
    const previous = this.groups.get(group.id)
    const members = group.members ?? previous?.members ?? []
    this.groups.set(group.id, { ...previous, ...group, members })
    this.log({
      kind: 'group',
      id: group.id,
      what: 'upsert',
      fields: previous ? changedFields(previous, group).filter((f) => f !== 'members') : 'all',
      added: members.filter((m) => !previous?.members.includes(m)),
      removed: (previous?.members ?? []).filter((m) => !members.includes(m)),
    })
  }

  setMembers(groupId: string, members: string[]) {
    const group = this.groups.get(groupId)
    if (!group) throw new Error(`no group ${groupId}`)
    this.upsertGroup({ ...group, members })
  }

  deleteGroup(id: string) {
    this.groups.delete(id)
    this.log({ kind: 'group', id, what: 'hard' })
  }

  fail(path: RegExp, status: number, times = 1, retryAfter?: number) {
    this.faults.push({ path, status, times, ...(retryAfter !== undefined ? { retryAfter } : {}) })
  }
}

/** The ids of everyone in `group` however nested, each once (a cycle or a group nested twice is walked once). */
function transitive(tenant: FakeTenant, group: FakeGroup): string[] {
  const seen = new Set<string>()
  const walk = (g: FakeGroup) => {
    for (const m of g.members) {
      if (seen.has(m)) continue
      seen.add(m)
      const nested = tenant.groups.get(m)
      if (nested) walk(nested)
    }
  }
  walk(group)
  return [...seen].filter((id) => id !== group.id)
}

/** The keys of `next` whose values differ from `previous` (id never counts). */
const changedFields = (previous: object, next: object) =>
  Object.entries(next)
    .filter(([k, v]) => k !== 'id' && JSON.stringify((previous as Record<string, unknown>)[k]) !== JSON.stringify(v))
    .map(([k]) => k)

/** What a delta reports of an object changed by `changes`: everything, or the union of what changed. */
const reported = (changes: Change[]): string[] | 'all' => {
  const fields = new Set<string>()
  for (const c of changes) {
    if (c.fields === 'all' || c.fields === undefined) return 'all'
    c.fields.forEach((f) => fields.add(f))
  }
  return [...fields]
}
const only = (o: Record<string, unknown>, fields: string[] | 'all') =>
  fields === 'all' ? o : Object.fromEntries(Object.entries(o).filter(([k]) => k === 'id' || fields.includes(k)))

/**
 * A Retry-After of `seconds`: an HTTP date on the tenant's clock when it is skewed (Graph sends
 * seconds; a date is what a skewed server makes dangerous), seconds otherwise.
 */
const retryAfter = (tenant: FakeTenant, seconds: number) =>
  tenant.clockSkewMs ? new Date(Math.ceil(tenant.now() / 1000) * 1000 + seconds * 1000).toUTCString() : String(seconds)

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const graphError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json({ error: { code, message, innerError: { 'request-id': crypto.randomUUID(), date: new Date().toISOString() } } }, status, headers)

const encode = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '')
const decode = <T>(s: string): T => JSON.parse(atob(s)) as T

interface PageState {
  kind: 'user' | 'group'
  /** Sequence the listing is taken at; the deltaLink resumes from here. */
  at: number
  /** Since which sequence; -1 for the initial listing of everything. */
  since: number
  offset: number
  select: string
}

export class FakeCloud {
  tenants = new Map<string, FakeTenant>()
  /** Who "signs in" on the admin-consent page: a tenant id, or a refusal. */
  consent: { tenant: string } | { error: string } = { error: 'no_admin' }
  private tokens = new Map<string, { tenant: string; expires: number }>()

  tenant(id: string, clientId = 'client-id', clientSecret = 'client-secret') {
    let t = this.tenants.get(id)
    if (!t) {
      t = new FakeTenant(id, clientId, clientSecret)
      this.tenants.set(id, t)
    }
    return t
  }

  /** Expires every access token issued so far (the next API call gets 401). */
  expireTokens() {
    for (const t of this.tokens.values()) t.expires = 0
  }

  readonly handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/_fake/')) return this.control(request, url)
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname)
    if (token && request.method === 'POST') return this.issueToken(token[1]!, await request.formData())
    if (url.pathname.startsWith('/v1.0/')) return this.graph(request, url)
    if (/^\/[^/]+\/adminconsent$/.test(url.pathname)) return this.adminConsent(url)
    return graphError(404, 'Request_ResourceNotFound', `No fake route for ${request.method} ${url.pathname}`)
  }

  /** The admin-consent page, answered at once as the configured admin would: redirect back. */
  private adminConsent(url: URL) {
    const back = new URL(url.searchParams.get('redirect_uri') ?? '')
    back.searchParams.set('state', url.searchParams.get('state') ?? '')
    if ('tenant' in this.consent) {
      back.searchParams.set('admin_consent', 'True')
      back.searchParams.set('tenant', this.consent.tenant)
    } else {
      back.searchParams.set('error', this.consent.error)
      back.searchParams.set('error_description', 'AADSTS65004: User declined to consent to access the app.')
    }
    return new Response(null, { status: 302, headers: { Location: back.toString() } })
  }

  private issueToken(tenantId: string, form: FormData) {
    const tenant = this.tenants.get(tenantId)
    if (!tenant) return json({ error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tenantId}' not found.` }, 400)
    tenant.tokenRequests++
    if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'https://graph.microsoft.com/.default')
      return json({ error: 'unsupported_grant_type' }, 400)
    if (form.get('client_id') !== tenant.clientId || form.get('client_secret') !== tenant.clientSecret)
      return json({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }, 401)
    // Shaped like Graph's: a JWT whose payload names the tenant (tid); the signature is not checked by clients.
    const access = `${encode({ typ: 'JWT', alg: 'none' })}.${encode({ tid: tenantId, aud: 'https://graph.microsoft.com', jti: crypto.randomUUID() })}.fake`
    this.tokens.set(access, { tenant: tenantId, expires: tenant.now() + tenant.tokenLifetime * 1000 })
    return json({ token_type: 'Bearer', expires_in: tenant.tokenLifetime, ext_expires_in: tenant.tokenLifetime, access_token: access })
  }

  private async graph(request: Request, url: URL): Promise<Response> {
    const auth = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')
    const session = auth ? this.tokens.get(auth[1]!) : undefined
    if (!session) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty or invalid.')
    const tenant = this.tenants.get(session.tenant)!
    const date = { Date: new Date(tenant.now()).toUTCString() }
    if (session.expires <= tenant.now())
      return graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', date)
    const page = url.pathname + url.search
    tenant.requests.push(page)
    const fault = tenant.faults.find((f) => f.path.test(page))
    if (fault) {
      if (--fault.times <= 0) tenant.faults.splice(tenant.faults.indexOf(fault), 1)
      if (fault.status === 429)
        return graphError(429, 'TooManyRequests', 'Too many requests.', {
          ...date,
          'Retry-After': retryAfter(tenant, fault.retryAfter ?? 1),
        })
      return graphError(fault.status, fault.status === 503 ? 'serviceNotAvailable' : 'generalException', 'Injected fault.', date)
    }
    const chaos = tenant.chaos?.draw(page)
    if (chaos?.kind === 'throttled')
      return graphError(429, 'TooManyRequests', 'Too many requests.', { ...date, 'Retry-After': retryAfter(tenant, 0) })
    if (chaos?.kind === 'unavailable') return graphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable.', date)
    if (chaos?.kind === 'expiredToken') {
      session.expires = 0
      return graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', date)
    }
    const res = this.route(request, url, tenant)
    return chaos ? garble(chaos, res) : res
  }

  private route(request: Request, url: URL, tenant: FakeTenant): Response {
    const groupPath = /^\/v1\.0\/groups\/([^/]+)(?:\/(members|transitiveMembers))?$/.exec(url.pathname)
    if (groupPath && groupPath[1] !== 'delta' && request.method === 'GET') return this.groupRead(tenant, url, groupPath)
    const delta = /^\/v1\.0\/(users|groups)\/delta$/.exec(url.pathname)
    if (!delta || request.method !== 'GET') return graphError(400, 'BadRequest', `Unsupported: ${request.method} ${url.pathname}`)
    const kind = delta[1] === 'users' ? 'user' : 'group'
    let state: PageState
    const skip = url.searchParams.get('$skiptoken')
    const deltaToken = url.searchParams.get('$deltatoken')
    if (skip) state = decode<PageState>(skip)
    else if (deltaToken) {
      // Like Graph, the delta token carries the original query ($select), not the link's parameters.
      const { at: since, select } = decode<{ at: number; select: string }>(deltaToken)
      if (since < tenant.expiredBefore)
        return graphError(410, 'syncStateNotFound', 'The delta token has expired; start a full synchronization.', {
          Location: `${url.origin}/v1.0/${delta[1]}/delta`,
        })
      state = { kind, at: tenant.seq, since, offset: 0, select }
    } else state = { kind, at: tenant.seq, since: -1, offset: 0, select: url.searchParams.get('$select') ?? '' }
    const prefer = /odata\.maxpagesize=(\d+)/.exec(request.headers.get('prefer') ?? '')
    return this.page(tenant, url, state, Math.min(tenant.pageSize, prefer ? Number(prefer[1]) : tenant.pageSize))
  }

  /**
   * GET /groups/{id} (the group), /groups/{id}/members (direct members) and
   * /groups/{id}/transitiveMembers (everyone in it however nested, users and groups, each once), as
   * directoryObjects carrying @odata.type and the selected properties (null where unset), paged with
   * $skiptoken nextLinks that keep the query. An unknown group is 404 Request_ResourceNotFound.
   */
  private groupRead(tenant: FakeTenant, url: URL, [, rawId, relation]: RegExpExecArray) {
    const id = decodeURIComponent(rawId!)
    const group = tenant.groups.get(id)
    if (!group)
      return graphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`
      )
    const select = (url.searchParams.get('$select') ?? '').split(',').filter(Boolean)
    const shape = (o: Record<string, unknown>, type: 'user' | 'group') => ({
      '@odata.type': `#microsoft.graph.${type}`,
      ...(select.length === 0 ? o : Object.fromEntries(['id', ...select].map((k) => [k, o[k] ?? null]))),
    })
    const groupObject = (g: FakeGroup) => shape({ id: g.id, displayName: g.displayName, description: g.description ?? null }, 'group')
    if (!relation) {
      const { '@odata.type': _type, ...body } = groupObject(group)
      return json({ '@odata.context': `${url.origin}/v1.0/$metadata#groups/$entity`, ...body })
    }
    const ids = relation === 'members' ? group.members : transitive(tenant, group)
    const objects = ids.flatMap((m) => {
      const user = tenant.users.get(m)
      if (user) return [shape({ accountEnabled: true, ...user }, 'user')]
      const nested = tenant.groups.get(m)
      return nested ? [groupObject(nested)] : []
    })
    const offset = Number(url.searchParams.get('$skiptoken') ?? '0')
    const value = objects.slice(offset, offset + tenant.pageSize)
    const body: Record<string, unknown> = { '@odata.context': `${url.origin}/v1.0/$metadata#directoryObjects`, value }
    if (offset + tenant.pageSize < objects.length) {
      const next = new URL(url.toString())
      next.searchParams.set('$skiptoken', String(offset + tenant.pageSize))
      body['@odata.nextLink'] = next.toString()
    }
    return json(body)
  }

  private listings = new Map<string, Record<string, unknown>[]>()

  /** The items of a delta listing, computed once per listing: a snapshot, as Graph's pages are. */
  private items(tenant: FakeTenant, state: PageState): Record<string, unknown>[] {
    const key = `${tenant.id}|${state.kind}|${state.since}|${state.at}|${state.select}|${tenant.visibleUsers}`
    let items = this.listings.get(key)
    if (!items) {
      items = this.computeItems(tenant, state)
      if (this.listings.size > 50) this.listings.clear()
      this.listings.set(key, items)
    }
    return items
  }

  /** Current objects (since 0) or what changed in (since, at]. */
  private computeItems(tenant: FakeTenant, state: PageState): Record<string, unknown>[] {
    const select = (o: Record<string, unknown>) => {
      if (!state.select) return o
      const keep = new Set(['id', ...state.select.split(',')])
      return Object.fromEntries(Object.entries(o).filter(([k]) => keep.has(k)))
    }
    const memberRef = (id: string, removed = false) => ({
      '@odata.type': tenant.groups.has(id) ? '#microsoft.graph.group' : '#microsoft.graph.user',
      id,
      ...(removed ? { '@removed': { reason: 'deleted' } } : {}),
    })
    const groupItems = (g: FakeGroup, added: string[], removed: string[], fields: string[] | 'all' = 'all') => {
      const refs = [...added.map((m) => memberRef(m)), ...removed.map((m) => memberRef(m, true))]
      const base = select(only({ id: g.id, displayName: g.displayName, description: g.description ?? null }, fields))
      if (!state.select.includes('members')) return [base]
      if (refs.length === 0) return [{ ...base, 'members@delta': [] }]
      const out = []
      for (let i = 0; i < refs.length; i += tenant.membersPerPage)
        out.push({ ...base, 'members@delta': refs.slice(i, i + tenant.membersPerPage) })
      return out
    }
    if (state.since < 0) {
      // Like Graph, a listed object carries every selected property, null where it has no value.
      const whole = (u: FakeUser) => ({
        ...Object.fromEntries(
          state.select
            .split(',')
            .filter(Boolean)
            .map((k) => [k, null])
        ),
        ...u,
      })
      if (state.kind === 'user') return [...tenant.users.values()].slice(0, tenant.visibleUsers).map((u) => select(whole(u)))
      return [...tenant.groups.values()].flatMap((g) => groupItems(g, g.members, []))
    }
    const changes = tenant.changes.filter((c) => c.kind === state.kind && c.seq > state.since && c.seq <= state.at)
    const out: Record<string, unknown>[] = []
    const ids = [...new Set(changes.map((c) => c.id))]
    for (const id of ids) {
      const last = changes.filter((c) => c.id === id).pop()!
      if (last.what !== 'upsert') {
        out.push({ id, '@removed': { reason: last.what === 'soft' ? 'changed' : 'deleted' } })
        continue
      }
      // Since the last removal, if any: a re-created object is reported whole.
      const since = changes.filter((c) => c.id === id)
      const lastRemoval = since.map((c) => c.what).lastIndexOf('hard')
      const fields = reported(since.slice(lastRemoval + 1))
      if (state.kind === 'user') {
        const u = tenant.users.get(id)
        if (u) out.push(select(only({ ...u }, fields)))
        continue
      }
      const g = tenant.groups.get(id)
      if (!g) continue
      const added = new Set<string>()
      const removed = new Set<string>()
      for (const c of changes.filter((x) => x.id === id)) {
        for (const m of c.added ?? []) {
          removed.delete(m)
          added.add(m)
        }
        for (const m of c.removed ?? []) {
          added.delete(m)
          removed.add(m)
        }
      }
      out.push(...groupItems(g, [...added], [...removed], fields))
    }
    // Graph may repeat an item; a faithful client must not mind.
    if (out.length > 2) out.push(out[0]!)
    return out
  }

  private page(tenant: FakeTenant, url: URL, state: PageState, pageSize: number) {
    const items = this.items(tenant, state)
    const value = items.slice(state.offset, state.offset + pageSize)
    const base = `${url.origin}/v1.0/${state.kind === 'user' ? 'users' : 'groups'}/delta`
    const next = state.offset + pageSize
    const body: Record<string, unknown> = { '@odata.context': `${url.origin}/v1.0/$metadata#${state.kind}s`, value }
    if (next < items.length) body['@odata.nextLink'] = `${base}?$skiptoken=${encode({ ...state, offset: next })}`
    // An empty page with a nextLink, as Graph sometimes sends: between the first and second page.
    else if (state.offset === 0 && items.length > 0 && !url.searchParams.has('$skiptoken') && pageSize < 1000)
      body['@odata.nextLink'] = `${base}?$skiptoken=${encode({ ...state, offset: items.length })}`
    else body['@odata.deltaLink'] = `${base}?$deltatoken=${encode({ at: state.at, select: state.select })}`
    return json(body)
  }

  /** Set-up over HTTP, for tests that run inside workerd: POST /_fake/{tenant} {action, …}. */
  private async control(request: Request, url: URL) {
    const tenantId = url.pathname.split('/')[2]!
    const body = (await request.json()) as Record<string, unknown> & { action: string }
    const t = this.tenant(tenantId, body.clientId as string | undefined, body.clientSecret as string | undefined)
    switch (body.action) {
      case 'upsertUsers':
        for (const u of body.users as FakeUser[]) t.upsertUser(u)
        break
      case 'deleteUser':
        t.deleteUser(body.id as string, body.how as 'soft' | 'hard')
        break
      case 'upsertGroups':
        for (const g of body.groups as FakeGroup[]) t.upsertGroup(g)
        break
      case 'deleteGroup':
        t.deleteGroup(body.id as string)
        break
      case 'fail':
        t.fail(
          new RegExp(body.path as string),
          body.status as number,
          (body.times as number | undefined) ?? 1,
          body.retryAfter as number | undefined
        )
        break
      case 'expireDeltaTokens':
        t.expiredBefore = t.seq + 1
        break
      case 'expireAccessTokens':
        this.expireTokens()
        break
      case 'settings':
        if (body.chaos !== undefined) t.chaos = body.chaos ? new Chaos(body.chaos as ChaosSettings) : undefined
        if (body.clockSkewMs !== undefined) t.clockSkewMs = body.clockSkewMs as number
        if (body.pageSize) t.pageSize = body.pageSize as number
        if (body.membersPerPage) t.membersPerPage = body.membersPerPage as number
        if (body.visibleUsers !== undefined) t.visibleUsers = (body.visibleUsers as number | null) ?? undefined
        break
      case 'consentAs':
        this.consent = body.decline ? { error: 'access_denied' } : { tenant: tenantId }
        break
      case 'state':
        break
      default:
        return json({ error: `unknown action ${body.action}` }, 400)
    }
    return json({
      seq: t.seq,
      users: t.users.size,
      groups: t.groups.size,
      requests: t.requests.length,
      tokenRequests: t.tokenRequests,
      faultsLeft: t.faults.length,
      chaos: t.chaos?.injected ?? null,
      // {action: 'state', paths: true}: the paths and queries of the API requests made so far.
      ...(body.paths ? { paths: t.requests } : {}),
    })
  }
}
