import { Hono, type Context } from 'hono'
import * as z from 'zod'
import { config } from '../../config'
import { BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, QUERIES_PER_BULK_OPERATION } from '../../scim/constants'
import {
  invalidPath,
  invalidSyntax,
  invalidValue,
  parseWith,
  payloadTooLarge,
  unresolvedReference,
  type ScimError,
} from '../../scim/errors'
import { readJson } from '../body'
import type { AppEnv } from '../context'
import { scimBaseUrl, scimJson } from '../respond'

const operationSchema = z.object({
  method: z
    .string({ error: 'needs a "method".' })
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(['POST', 'PUT', 'PATCH', 'DELETE'], { error: 'must be POST, PUT, PATCH or DELETE.' })),
  bulkId: z.string().optional(),
  version: z.string().optional(),
  path: z.string({ error: 'needs a "path".' }),
  data: z.unknown().optional(),
})

const bulkRequestSchema = z.object({
  schemas: z.array(z.string()).refine((s) => s.includes(BULK_REQUEST_SCHEMA), { error: `must contain "${BULK_REQUEST_SCHEMA}".` }),
  failOnErrors: z.number().int().min(0).optional(),
  Operations: z.array(z.unknown(), { error: 'must be an array of operations.' }),
})

type Operation = z.infer<typeof operationSchema>

const REFERENCE = /^bulkId:(.+)$/
/** Resource paths an operation may address: a collection for POST, a resource otherwise (any case, as on the endpoints). */
const PATH = /^\/(Users|Groups)(?:\/([^/?#]+))?$/i

/** Every `bulkId:x` in a path or in data, as x. */
function references(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const m = REFERENCE.exec(value)
    if (m) found.add(m[1]!)
  } else if (Array.isArray(value)) value.forEach((v) => references(v, found))
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => references(v, found))
  return found
}

function resolve<T>(value: T, ids: Map<string, string>): T {
  if (typeof value === 'string') {
    const m = REFERENCE.exec(value)
    return (m && ids.has(m[1]!) ? ids.get(m[1]!) : value) as T
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, ids)) as T
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, ids)])) as T
  return value
}

/** In a path, a reference is a segment: /Users/bulkId:alice. */
const PATH_REFERENCE = /(?<=\/)bulkId:([^/?#]+)/g
const pathReferences = (path: string) => new Set([...path.matchAll(PATH_REFERENCE)].map((m) => m[1]!))
const resolvePathReferences = (path: string, ids: Map<string, string>) =>
  path.replace(PATH_REFERENCE, (whole, id: string) => ids.get(id) ?? whole)

const errorBody = (e: ScimError) => e.toJSON()

/** Runs a request through the whole app, as if it had arrived on its own. */
export type Dispatch = (request: Request, env: Env, ctx: Context<AppEnv>['executionCtx']) => Promise<Response>

/**
 * POST /Bulk (RFC 7644 §3.7). Each operation is dispatched to this same Worker as an ordinary
 * request, so it is authenticated, validated and stored exactly as if sent alone. Operations
 * whose bulkId references are not resolved yet wait until the operation they name has run; what
 * stays unresolved (a cycle, or a bulkId no operation defines) fails with 409.
 */
export const createBulkRoutes = (dispatch: Dispatch) =>
  new Hono<AppEnv>({ strict: false }).post('/Bulk', async (c) => {
    const request = parseWith(bulkRequestSchema, await readJson(c))
    const { bulkMaxOperations, queryBudget } = config(c.env)
    let heaviest = QUERIES_PER_BULK_OPERATION
    if (request.Operations.length > bulkMaxOperations)
      throw payloadTooLarge(
        `The bulk request has ${request.Operations.length} operations; at most ${bulkMaxOperations} are accepted (see maxOperations in /ServiceProviderConfig).`
      )
    const operations: Operation[] = request.Operations.map((raw, i) => {
      const op = parseWith(operationSchema, raw, invalidSyntax, `Operations[${i}]`)
      if (op.method === 'POST' && !op.bulkId) throw invalidValue(`Operations[${i}]: a POST needs a "bulkId".`)
      return op
    })
    const defined = new Set(operations.flatMap((o) => (o.bulkId ? [o.bulkId] : [])))
    const ids = new Map<string, string>()
    const base = scimBaseUrl(c)
    const results: (Record<string, unknown> | undefined)[] = operations.map(() => undefined)
    let errors = 0
    const limit = request.failOnErrors ?? Infinity

    const run = async (op: Operation): Promise<Record<string, unknown>> => {
      const path = resolvePathReferences(op.path, ids)
      const target = PATH.exec(path)
      const summary = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) }
      if (!target || (op.method === 'POST') !== (target[2] === undefined))
        return {
          ...summary,
          status: '400',
          response: errorBody(invalidPath(`"${op.path}" is not a path for ${op.method} in a bulk request.`)),
        }
      // Operations heavier than budgeted (large member lists) can use up the invocation's D1 queries
      // early: one that may not fit (judged by the heaviest so far) is not started, and says so,
      // rather than failing half-written.
      if (c.get('cost').queries + heaviest > queryBudget)
        return {
          ...summary,
          status: '413',
          response: errorBody(
            payloadTooLarge(
              `Not run: this bulk request used ${c.get('cost').queries} of the ${queryBudget} D1 queries one request may make. Send the remaining operations in another request.`
            )
          ),
        }
      const headers: Record<string, string> = {
        authorization: c.req.header('authorization') ?? '',
        'content-type': 'application/scim+json',
      }
      if (op.version) headers['if-match'] = op.version
      const res = await dispatch(
        new Request(`${base}${path}`, {
          method: op.method,
          headers,
          body: op.data === undefined ? undefined : JSON.stringify(resolve(op.data, ids)),
        }),
        c.env,
        c.executionCtx
      )
      // The operation's own D1 cost counts toward the bulk request's.
      const cost = c.get('cost')
      const queries = Number(res.headers.get('x-d1-queries') ?? 0)
      heaviest = Math.max(heaviest, queries)
      cost.queries += queries
      cost.roundTrips += Number(res.headers.get('x-d1-round-trips') ?? 0)
      cost.rowsRead += Number(res.headers.get('x-d1-rows-read') ?? 0)
      cost.rowsWritten += Number(res.headers.get('x-d1-rows-written') ?? 0)
      const text = await res.text()
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined
      const status = String(res.status)
      if (res.status >= 400) return { ...summary, status, response: body }
      const location = res.headers.get('location') ?? (op.method === 'DELETE' ? undefined : `${base}${path}`)
      if (op.method === 'POST' && op.bulkId && body?.id) ids.set(op.bulkId, body.id as string)
      const version = res.headers.get('etag')
      return { ...summary, ...(location ? { location } : {}), ...(version ? { version } : {}), status }
    }

    // Passes over the operations in order: each runs once every bulkId it names is resolved.
    let progressed = true
    while (progressed && errors < limit) {
      progressed = false
      for (const [i, op] of operations.entries()) {
        if (results[i] || errors >= limit) continue
        const needs = [...pathReferences(op.path), ...references(op.data)]
        const missing = needs.filter((b) => !ids.has(b))
        if (missing.some((b) => !defined.has(b) || results[operations.findIndex((o) => o.bulkId === b)]?.response)) {
          // Names a bulkId no operation defines, or one whose operation failed.
          results[i] = {
            method: op.method,
            ...(op.bulkId ? { bulkId: op.bulkId } : {}),
            status: '409',
            response: errorBody(unresolvedReference(`Unresolved bulkId reference${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.`)),
          }
          errors++
          progressed = true
          continue
        }
        if (missing.length > 0) continue
        results[i] = await run(op)
        if (Number(results[i]!.status) >= 400) errors++
        progressed = true
      }
    }
    // Whatever could not run waits on a cycle of references.
    if (errors < limit)
      for (const [i, op] of operations.entries())
        if (!results[i]) {
          results[i] = {
            method: op.method,
            ...(op.bulkId ? { bulkId: op.bulkId } : {}),
            status: '409',
            response: errorBody(unresolvedReference('Circular bulkId references: these operations depend on each other.')),
          }
          if (++errors >= limit) break
        }
    return scimJson(c, { schemas: [BULK_RESPONSE_SCHEMA], Operations: results.filter((r) => r !== undefined) })
  })
