import * as z from 'zod'
import { DeltaExpired, SyncError } from '../errors'
import { jsonOf, reaching, retryAfterMs, withRetries, type RetryPolicy } from '../retry'

export interface GraphSettings {
  loginBaseUrl: string
  graphBaseUrl: string
  tenantId: string
  clientId: string
  clientSecret: string
}

const tokenSchema = z.object({ access_token: z.string(), expires_in: z.coerce.number() })
// @odata.context is on every collection Graph sends, empty ones too: a `{"value": []}` without it is
// not Graph's page, and taken as one it could end a listing early.
const pageSchema = z.object({
  '@odata.context': z.string(),
  value: z.array(z.record(z.string(), z.unknown())),
  '@odata.nextLink': z.string().optional(),
  '@odata.deltaLink': z.string().optional(),
})
export type GraphPage = z.infer<typeof pageSchema>
const objectSchema = z.record(z.string(), z.unknown())

const errorCode = async (res: Response) => {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } | string; error_description?: string }
    if (typeof body.error === 'string') return { code: body.error, message: body.error_description ?? body.error }
    return { code: body.error?.code ?? String(res.status), message: body.error?.message ?? res.statusText }
  } catch {
    return { code: String(res.status), message: res.statusText }
  }
}

export const USER_SELECT = 'id,userPrincipalName,displayName,givenName,surname,mail,jobTitle,department,accountEnabled'
export const GROUP_SELECT = 'displayName,description,members'

/**
 * Microsoft Graph with application permissions (User.Read.All, GroupMember.Read.All): a
 * client-credentials token cached until shortly before it expires, and paged GETs that honour
 * Retry-After, back off on 5xx, fetch a new token when one expires mid-run, and only ever follow
 * links on the configured Graph host (the token must not travel anywhere else).
 */
export function graphClient(settings: GraphSettings, policy: RetryPolicy, fetcher: typeof fetch = fetch) {
  const send = reaching(fetcher)
  const graph = settings.graphBaseUrl.replace(/\/+$/, '')
  let token: { value: string; expires: number } | undefined

  async function accessToken(): Promise<string> {
    if (token && token.expires > Date.now() + 60_000) return token.value
    const url = `${settings.loginBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(settings.tenantId)}/oauth2/v2.0/token`
    const value = await withRetries(policy, 'Microsoft sign-in', async () => {
      const res = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: settings.clientId,
          client_secret: settings.clientSecret,
          scope: 'https://graph.microsoft.com/.default',
          grant_type: 'client_credentials',
        }),
      })
      if (res.ok) {
        const body = await jsonOf(res, 'Microsoft sign-in')
        if (!('json' in body)) return body
        const parsed = tokenSchema.safeParse(body.json)
        if (!parsed.success) throw new SyncError('Microsoft sign-in returned an unexpected token response.', 'protocol')
        return { done: true as const, value: parsed.data }
      }
      const { code, message } = await errorCode(res)
      if (res.status === 429 || res.status >= 500)
        return {
          done: false as const,
          waitMs: retryAfterMs(res),
          error: new SyncError(`Microsoft sign-in is unavailable (${res.status}).`, 'unavailable'),
        }
      throw new SyncError(
        `Microsoft sign-in refused the app's credentials (${code}): ${message} Check the tenant id, client id and secret, or re-run the consent.`,
        'auth'
      )
    })
    token = { value: value.access_token, expires: Date.now() + value.expires_in * 1000 }
    return token.value
  }

  /** One page of a Graph collection, or DeltaExpired when a delta token is no longer valid. */
  const get = (url: string): Promise<GraphPage> => request(url, pageSchema)
  /** One object (a group the import's scope names). */
  const getObject = (url: string) => request(url, objectSchema)

  async function request<T>(url: string, schema: z.ZodType<T>): Promise<T> {
    if (!url.startsWith(`${graph}/`)) throw new SyncError(`Refusing to follow a link outside ${graph}: ${url}`, 'protocol')
    let refreshed = false
    return withRetries(policy, 'Microsoft Graph', async () => {
      // Larger pages mean fewer steps; Graph may still send smaller ones.
      const res = await send(url, {
        headers: { authorization: `Bearer ${await accessToken()}`, accept: 'application/json', prefer: 'odata.maxpagesize=500' },
      })
      if (res.ok) {
        const body = await jsonOf(res, 'Microsoft Graph')
        if (!('json' in body)) return body
        const parsed = schema.safeParse(body.json)
        // Tried again like a page cut short; if Graph keeps sending it, the step fails saying so.
        if (!parsed.success)
          return {
            done: false as const,
            error: new SyncError(`Microsoft Graph returned an unexpected page from ${new URL(url).pathname}.`, 'protocol'),
          }
        return { done: true as const, value: parsed.data }
      }
      const retryAfter = retryAfterMs(res)
      const { code, message } = await errorCode(res)
      if (res.status === 410 || code === 'syncStateNotFound' || code === 'resyncRequired') throw new DeltaExpired(message)
      if (res.status === 401 && !refreshed) {
        // An access token can expire mid-run: fetch a fresh one and try again, once.
        refreshed = true
        token = undefined
        return { done: false as const, waitMs: 0, error: new SyncError(`Microsoft Graph rejected the access token (${code}).`, 'auth') }
      }
      if (res.status === 429)
        return {
          done: false as const,
          waitMs: retryAfter ?? policy.baseDelayMs,
          error: new SyncError('Microsoft Graph is throttling this app (429).', 'throttled'),
        }
      if (res.status >= 500)
        return {
          done: false as const,
          waitMs: retryAfter,
          error: new SyncError(`Microsoft Graph is unavailable (${res.status}).`, 'unavailable'),
        }
      if (res.status === 401 || res.status === 403)
        throw new SyncError(
          `Microsoft Graph refused access (${code}): ${message} The app needs the User.Read.All and GroupMember.Read.All application permissions with admin consent.`,
          'auth'
        )
      throw new SyncError(`Microsoft Graph answered ${res.status} (${code}): ${message}`, res.status === 404 ? 'notFound' : 'protocol')
    })
  }

  const group = (id: string) => `${graph}/v1.0/groups/${encodeURIComponent(id)}`
  return {
    get,
    getObject,
    usersDelta: () => `${graph}/v1.0/users/delta?$select=${USER_SELECT}`,
    groupsDelta: () => `${graph}/v1.0/groups/delta?$select=${GROUP_SELECT}`,
    // A scoped import (src/sync/scope.ts): a scope group, everyone in it however nested, and each
    // imported group's direct members. Not delta queries: a scoped run lists its scope in full.
    group: (id: string) => `${group(id)}?$select=id,displayName,description`,
    transitiveMembers: (id: string) => `${group(id)}/transitiveMembers?$select=${USER_SELECT},description`,
    members: (id: string) => `${group(id)}/members?$select=id`,
  }
}

export type GraphClient = ReturnType<typeof graphClient>
