import { exports } from 'cloudflare:workers'

export const ORIGIN = 'https://directory.test'
export const ADMIN_TOKEN = 'test-admin-token'
export { ENTERPRISE_USER_SCHEMA as ENTERPRISE, GROUP_SCHEMA, PATCH_OP_SCHEMA as PATCH_OP, USER_SCHEMA } from '../../src/scim/constants'
import { PATCH_OP_SCHEMA as PATCH_OP } from '../../src/scim/constants'
import { USER_SCHEMA } from '../../src/scim/constants'
// Spelled out rather than imported: assertions on the error body check the wire value itself.
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'

// Test bodies are read loosely: assertions say what shape they expect.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any

export interface Reply {
  status: number
  headers: Headers
  body: Json
}

/** One request to the Worker under test (its real fetch handler, inside workerd). */
export async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> } = {}
): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  let body: BodyInit | undefined = options.raw
  if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['content-type'] ??= 'application/scim+json'
  }
  // Redirects are what is being tested, never followed.
  const res = await exports.default.fetch(`${ORIGIN}${path}`, { method, headers, body, redirect: 'manual' })
  const text = await res.text()
  let parsed: Json = undefined
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = text
    }
  }
  return { status: res.status, headers: res.headers, body: parsed }
}

export const admin = (method: string, path: string, body?: unknown) =>
  call(method, `/api/v1${path}`, { token: ADMIN_TOKEN, body, headers: body !== undefined ? { 'content-type': 'application/json' } : {} })

let counter = 0
/** A fresh SCIM integration; returns its id, token and a client bound to that token. */
export async function newIntegration(name = `Test ${Date.now()} ${++counter}`) {
  const res = await admin('POST', '/integrations', { kind: 'scim', name })
  if (res.status !== 201) throw new Error(`creating an integration failed: ${res.status} ${JSON.stringify(res.body)}`)
  const { id, token } = res.body as { id: string; token: string }
  return { id, token, scim: scimClient(token) }
}

export function scimClient(token: string) {
  const at = (p: string) => `/scim/v2${p}`
  return {
    get: (p: string, headers?: Record<string, string>) => call('GET', at(p), { token, headers }),
    post: (p: string, body: unknown) => call('POST', at(p), { token, body }),
    put: (p: string, body: unknown) => call('PUT', at(p), { token, body }),
    patch: (p: string, ops: unknown[]) => call('PATCH', at(p), { token, body: { schemas: [PATCH_OP], Operations: ops } }),
    delete: (p: string) => call('DELETE', at(p), { token }),
  }
}

export type ScimClient = ReturnType<typeof scimClient>

export const userBody = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER_SCHEMA], userName, ...extra })

/** Asserts nothing itself: returns the error fields so tests can compare them in one expect. */
export const errorOf = (r: Reply) => ({
  status: r.status,
  contentType: r.headers.get('content-type'),
  schemas: r.body?.schemas,
  statusField: r.body?.status,
  scimType: r.body?.scimType,
})
