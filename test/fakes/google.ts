import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { Chaos, garble, type ChaosSettings } from './chaos'
/*
 * A fake Google OAuth token endpoint + Admin SDK Directory API (shared/reference §C2): the JWT-bearer
 * grant of a service account with domain-wide delegation (RS256 signature checked against the
 * account's public key, `iss`, `sub` = a super admin of the customer, `aud`, read-only scopes, a
 * lifetime of at most an hour), users.list / groups.list / members.list with maxResults caps and
 * page tokens, suspended and archived users, nested GROUP members, injected 403
 * userRateLimitExceeded, 429 and 503, faults at random pages (chaos.ts), and a clock of the
 * customer's own (clockSkewMs): an assertion issued more than a minute in its future is refused, as
 * Google refuses one "not in a reasonable timeframe". Host-agnostic paths: /token, /admin/directory/v1/…, /_fake-google/….
 */

export interface FakeGoogleUser {
  id: string
  primaryEmail: string
  name?: { givenName?: string; familyName?: string; fullName?: string }
  suspended?: boolean
  archived?: boolean
  organizations?: { title?: string; department?: string; primary?: boolean }[]
}

export interface FakeGoogleGroup {
  id: string
  email: string
  name: string
  members: { id: string; type: 'USER' | 'GROUP' }[]
}

const SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.member.readonly',
]

const b64url = (bytes: ArrayBuffer | Uint8Array) => {
  const arr = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  let s = ''
  for (const b of arr) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const apiError = (status: number, reason: string, message: string, headers: Record<string, string> = {}) =>
  json(
    { error: { code: status, message, errors: [{ domain: reason.includes('Limit') ? 'usageLimits' : 'global', reason, message }] } },
    status,
    headers
  )

export class FakeGoogleCustomer {
  users: FakeGoogleUser[] = []
  groups: FakeGoogleGroup[] = []
  faults: { path: RegExp; status: number; reason: string; times: number; retryAfter?: number }[] = []
  requests: string[] = []
  /** When set, pages fail at random, each at most once. */
  chaos: Chaos | undefined
  /** How far Google's clock is ahead of the caller's (negative: behind). */
  clockSkewMs = 0
  /** Items per page when smaller than the maxResults asked for. */
  pageSize: number | undefined
  now = () => Date.now() + this.clockSkewMs
  constructor(
    readonly customerId: string,
    readonly domainAdmin: string,
    readonly serviceAccountEmail: string,
    readonly publicKey: CryptoKey
  ) {}
}

export class FakeGoogle {
  customers = new Map<string, FakeGoogleCustomer>()
  private tokens = new Map<string, { customer: string; expires: number }>()
  tokenUrl = 'https://oauth2.fake.test/token'
  /** The deployment's OAuth client, and who signs in on the consent page. */
  oauthClient = { id: 'google-app', secret: 'google-secret' }
  signIn: { customer: string; email: string } | undefined
  private codes = new Map<string, { customer: string; email: string; redirectUri: string }>()
  private refreshTokens = new Map<string, string>()
  /** Google's ID-token signing keys, served at /certs; `forgeIdTokens` signs with a key not served there. */
  private signing = (async () => {
    const served = await generateKeyPair('RS256', { extractable: true })
    const other = await generateKeyPair('RS256', { extractable: true })
    return { served, other, jwks: { keys: [{ ...(await exportJWK(served.publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' }] } }
  })()
  forgeIdTokens = false

  /** A service account for a new customer: its key pair, with the private key as the PKCS#8 PEM Google hands out. */
  async addCustomer(customerId: string, domainAdmin: string) {
    const pair = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify']
    )) as CryptoKeyPair
    const pkcs8 = b64url((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer)
      .replace(/-/g, '+')
      .replace(/_/g, '/')
    const padded = pkcs8 + '='.repeat((4 - (pkcs8.length % 4)) % 4)
    const pem = `-----BEGIN PRIVATE KEY-----\n${padded.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`
    const email = `sync@${customerId}.iam.gserviceaccount.com`
    const customer = new FakeGoogleCustomer(customerId, domainAdmin, email, pair.publicKey)
    this.customers.set(customerId, customer)
    return { customer, serviceAccount: { client_email: email, private_key: pem } }
  }

  readonly handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/_fake-google/'))
      return this.control(url.pathname.split('/')[2]!, (await request.json()) as Record<string, unknown>)
    if (url.pathname === '/token' && request.method === 'POST') return this.token(await request.formData())
    if (url.pathname === '/certs') return json((await this.signing).jwks)
    if (url.pathname === '/o/oauth2/v2/auth') return this.consentPage(url)
    if (url.pathname.startsWith('/admin/directory/v1/')) return this.directory(request, url)
    return apiError(404, 'notFound', `No fake route for ${request.method} ${url.pathname}`)
  }

  /** Set-up over HTTP, for tests inside workerd: POST /_fake-google/{customer} {action, …}. */
  private async control(customerId: string, body: Record<string, unknown>) {
    if (body.action === 'create') {
      const { serviceAccount } = await this.addCustomer(customerId, body.admin as string)
      return json({ serviceAccount })
    }
    if (body.action === 'signIn') {
      this.signIn = { customer: customerId, email: body.email as string }
      return json({})
    }
    if (body.action === 'revokeRefreshTokens') {
      this.revokeRefreshTokens()
      return json({})
    }
    if (body.action === 'forgeIdTokens') {
      this.forgeIdTokens = body.forge !== false
      return json({})
    }
    const customer = this.customers.get(customerId)
    if (!customer) return json({ error: 'no such customer' }, 404)
    if (body.action === 'users') customer.users = body.users as FakeGoogleUser[]
    else if (body.action === 'groups') customer.groups = body.groups as FakeGoogleGroup[]
    else if (body.action === 'fail')
      customer.faults.push({
        path: new RegExp(body.path as string),
        status: body.status as number,
        reason: body.reason as string,
        times: (body.times as number | undefined) ?? 1,
      })
    else if (body.action === 'settings') {
      if (body.chaos !== undefined) customer.chaos = body.chaos ? new Chaos(body.chaos as ChaosSettings) : undefined
      if (body.clockSkewMs !== undefined) customer.clockSkewMs = body.clockSkewMs as number
      if (body.pageSize !== undefined) customer.pageSize = body.pageSize as number
    }
    return json({
      users: customer.users.length,
      groups: customer.groups.length,
      requests: customer.requests.length,
      faultsLeft: customer.faults.length,
      chaos: customer.chaos?.injected ?? null,
    })
  }

  /** The consent screen, answered at once by the configured admin: back to redirect_uri with a code. */
  private consentPage(url: URL) {
    const back = new URL(url.searchParams.get('redirect_uri') ?? '')
    back.searchParams.set('state', url.searchParams.get('state') ?? '')
    const scopes = (url.searchParams.get('scope') ?? '').split(' ')
    if (
      !this.signIn ||
      url.searchParams.get('client_id') !== this.oauthClient.id ||
      !SCOPES.every((s) => scopes.includes(s)) ||
      url.searchParams.get('access_type') !== 'offline'
    ) {
      back.searchParams.set('error', 'access_denied')
    } else {
      const code = `code-${crypto.randomUUID()}`
      this.codes.set(code, { ...this.signIn, redirectUri: url.searchParams.get('redirect_uri')! })
      back.searchParams.set('code', code)
    }
    return new Response(null, { status: 302, headers: { Location: back.toString() } })
  }

  /** Revoking a grant revokes its access tokens too, as at Google. */
  revokeRefreshTokens() {
    const customers = new Set(this.refreshTokens.values())
    this.refreshTokens.clear()
    for (const [access, session] of this.tokens) if (customers.has(session.customer)) this.tokens.delete(access)
  }

  private issue(customer: string) {
    const access = `ya29.fake-${crypto.randomUUID()}`
    this.tokens.set(access, { customer, expires: (this.customers.get(customer)?.now() ?? Date.now()) + 3600_000 })
    return access
  }

  private async token(form: FormData) {
    const grant = form.get('grant_type')
    if (grant === 'authorization_code' || grant === 'refresh_token') {
      if (form.get('client_id') !== this.oauthClient.id || form.get('client_secret') !== this.oauthClient.secret)
        return json({ error: 'invalid_client' }, 401)
      if (grant === 'refresh_token') {
        const customer = this.refreshTokens.get(String(form.get('refresh_token')))
        if (!customer) return json({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }, 400)
        return json({ access_token: this.issue(customer), expires_in: 3599, token_type: 'Bearer' })
      }
      const code = this.codes.get(String(form.get('code')))
      this.codes.delete(String(form.get('code')))
      if (!code || code.redirectUri !== form.get('redirect_uri'))
        return json({ error: 'invalid_grant', error_description: 'Bad Request' }, 400)
      const refresh = `1//fake-${crypto.randomUUID()}`
      this.refreshTokens.set(refresh, code.customer)
      const keys = await this.signing
      const idToken = await new SignJWT({ email: code.email, email_verified: true })
        .setProtectedHeader({ alg: 'RS256', kid: 'fake-1' })
        .setIssuer('https://accounts.google.com')
        .setAudience(this.oauthClient.id)
        .setSubject(`sub-${code.email}`)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign((this.forgeIdTokens ? keys.other : keys.served).privateKey)
      return json({
        access_token: this.issue(code.customer),
        expires_in: 3599,
        refresh_token: refresh,
        id_token: idToken,
        token_type: 'Bearer',
      })
    }
    if (grant !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return json({ error: 'unsupported_grant_type' }, 400)
    const [h, p, sig] = String(form.get('assertion') ?? '').split('.')
    if (!h || !p || !sig) return json({ error: 'invalid_grant', error_description: 'Invalid JWT.' }, 400)
    const header = JSON.parse(new TextDecoder().decode(fromB64url(h))) as { alg?: string }
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(p))) as {
      iss?: string
      sub?: string
      scope?: string
      aud?: string
      iat?: number
      exp?: number
    }
    const customer = [...this.customers.values()].find((c) => c.serviceAccountEmail === claims.iss)
    if (header.alg !== 'RS256' || !customer)
      return json({ error: 'invalid_client', error_description: 'The OAuth client was not found.' }, 401)
    const valid = await crypto.subtle.verify(
      'RSASSA-PKCS1-v1_5',
      customer.publicKey,
      fromB64url(sig),
      new TextEncoder().encode(`${h}.${p}`)
    )
    if (!valid) return json({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, 400)
    const now = Math.floor(customer.now() / 1000)
    if (claims.aud !== this.tokenUrl || !claims.iat || !claims.exp)
      return json({ error: 'invalid_grant', error_description: 'Invalid JWT: bad aud, iat or exp.' }, 400)
    if (claims.exp - claims.iat > 3600 || claims.exp < now || claims.iat > now + 60)
      return json(
        {
          error: 'invalid_grant',
          error_description:
            'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
        },
        400
      )
    const scopes = (claims.scope ?? '').split(' ')
    if (claims.sub !== customer.domainAdmin || !SCOPES.every((s) => scopes.includes(s)))
      return json(
        {
          error: 'unauthorized_client',
          error_description:
            'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        },
        401
      )
    return json({ access_token: this.issue(customer.customerId), expires_in: 3599, token_type: 'Bearer' })
  }

  private async directory(request: Request, url: URL): Promise<Response> {
    const auth = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')
    const session = auth ? this.tokens.get(auth[1]!) : undefined
    const customer = session && this.customers.get(session.customer)
    if (!session || !customer || session.expires < customer.now()) return apiError(401, 'authError', 'Invalid Credentials')
    const page = url.pathname + url.search
    customer.requests.push(page)
    const fault = customer.faults.find((f) => f.path.test(page))
    if (fault) {
      if (--fault.times <= 0) customer.faults.splice(customer.faults.indexOf(fault), 1)
      return apiError(
        fault.status,
        fault.reason,
        'Injected fault.',
        fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {}
      )
    }
    const chaos = customer.chaos?.draw(page)
    if (chaos?.kind === 'throttled') return apiError(429, 'rateLimitExceeded', 'Rate Limit Exceeded')
    if (chaos?.kind === 'unavailable') return apiError(503, 'backendError', 'Service unavailable. Please try again')
    if (chaos?.kind === 'expiredToken') {
      session.expires = 0
      return apiError(401, 'authError', 'Invalid Credentials')
    }
    const res = this.listing(url, customer)
    return chaos ? garble(chaos, res) : res
  }

  private listing(url: URL, customer: FakeGoogleCustomer): Response {
    const customerParam = url.searchParams.get('customer')
    const page = <T>(items: T[], max: number, cap: number, key: string) => {
      if (max > cap) return apiError(400, 'invalid', `Invalid value '${max}'. Values must be within the range: [1, ${cap}]`)
      // Google may send fewer than maxResults: pageSize, when set, makes every page that short.
      const size = Math.min(max, customer.pageSize ?? max)
      const start = Number(url.searchParams.get('pageToken') ?? '0')
      const slice = items.slice(start, start + size)
      return json({
        kind: `admin#directory#${key}`,
        etag: '"fake"',
        [key]: slice,
        ...(start + size < items.length ? { nextPageToken: String(start + size) } : {}),
      })
    }
    const max = (dflt: number) => Number(url.searchParams.get('maxResults') ?? dflt)
    if (url.pathname === '/admin/directory/v1/users') {
      if (customerParam !== 'my_customer' && customerParam !== customer.customerId) return apiError(400, 'badRequest', 'Bad Request')
      return page(
        customer.users.map((u) => ({ kind: 'admin#directory#user', ...u, customerId: customer.customerId })),
        max(100),
        500,
        'users'
      )
    }
    if (url.pathname === '/admin/directory/v1/groups') {
      if (customerParam !== 'my_customer' && customerParam !== customer.customerId) return apiError(400, 'badRequest', 'Bad Request')
      return page(
        customer.groups.map((g) => ({
          kind: 'admin#directory#group',
          id: g.id,
          email: g.email,
          name: g.name,
          directMembersCount: String(g.members.length),
        })),
        max(200),
        200,
        'groups'
      )
    }
    const members = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(url.pathname)
    if (members) {
      const group = customer.groups.find((g) => g.id === decodeURIComponent(members[1]!) || g.email === decodeURIComponent(members[1]!))
      if (!group) return apiError(404, 'notFound', 'Resource Not Found: groupKey')
      // includeDerivedMembership=true: the members of nested groups too (and those groups), once each.
      const listed = url.searchParams.get('includeDerivedMembership') === 'true' ? derived(customer.groups, group) : group.members
      return page(
        listed.map((m) => ({ kind: 'admin#directory#member', id: m.id, role: 'MEMBER', type: m.type, status: 'ACTIVE' })),
        max(200),
        200,
        'members'
      )
    }
    return apiError(404, 'notFound', `No fake route for ${url.pathname}`)
  }
}

/** Everyone in `group` however nested, each once (a group nested twice, or in a cycle, is walked once). */
function derived(groups: FakeGoogleGroup[], group: FakeGoogleGroup): FakeGoogleGroup['members'] {
  const seen = new Map<string, FakeGoogleGroup['members'][number]>()
  const walk = (g: FakeGoogleGroup) => {
    for (const m of g.members) {
      if (seen.has(m.id)) continue
      seen.set(m.id, m)
      const nested = m.type === 'GROUP' ? groups.find((x) => x.id === m.id) : undefined
      if (nested) walk(nested)
    }
  }
  walk(group)
  return [...seen.values()]
}
