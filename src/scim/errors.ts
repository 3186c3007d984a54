import type * as z from 'zod'
import { ERROR_SCHEMA, SCIM_MEDIA_TYPE } from './constants'

/** RFC 7644 §3.12 Table 9, plus RFC 9865's cursor keywords. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor'
  | 'expiredCursor'
  | 'invalidCount'

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA]
  status: string
  scimType?: ScimType
  detail: string
}

/**
 * The one error type of the service. Every failure, SCIM or admin, renders as RFC 7644 error JSON.
 * Create it through the factories below so each status/scimType pair is spelled once.
 */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
    readonly headers: Record<string, string> = {}
  ) {
    super(detail)
    this.name = 'ScimError'
  }

  toJSON(): ScimErrorBody {
    return {
      schemas: [ERROR_SCHEMA],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    }
  }

  /** The same error with `prefix` before its detail (which operation of a PATCH or Bulk it came from). */
  within(prefix: string): ScimError {
    return new ScimError(this.status, `${prefix}${this.detail}`, this.scimType, this.headers)
  }

  /** Hono's default error handler renders anything with getResponse(), so this holds everywhere. */
  getResponse(): Response {
    return new Response(JSON.stringify(this.toJSON()), {
      status: this.status,
      headers: { 'Content-Type': SCIM_MEDIA_TYPE, ...this.headers },
    })
  }
}

const bad = (scimType: ScimType) => (detail: string) => new ScimError(400, detail, scimType)

export const invalidFilter = bad('invalidFilter')
export const invalidCursor = bad('invalidCursor')
export const invalidCount = bad('invalidCount')
export const invalidSyntax = bad('invalidSyntax')
export const invalidValue = bad('invalidValue')
export const invalidPath = bad('invalidPath')
export const noTarget = bad('noTarget')
export const mutability = bad('mutability')
export const tooMany = bad('tooMany')
export const badRequest = (detail: string) => new ScimError(400, detail)
export const unauthorized = (detail: string) => new ScimError(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="scim"' })
export const forbidden = (detail: string) => new ScimError(403, detail)
export const notFound = (detail: string) => new ScimError(404, detail)
export const uniqueness = (detail: string) => new ScimError(409, detail, 'uniqueness')
export const conflict = (detail: string) => new ScimError(409, detail)
/** RFC 7644 §3.7.3: a Bulk operation whose bulkId reference cannot be resolved. */
export const unresolvedReference = (detail: string) => new ScimError(409, detail, 'invalidValue')
export const preconditionFailed = (detail: string) => new ScimError(412, detail)
export const payloadTooLarge = (detail: string) => new ScimError(413, detail)
export const unsupportedMediaType = (detail: string) => new ScimError(415, detail)
export const methodNotAllowed = (detail: string) => new ScimError(405, detail)
export const internalError = (detail: string) => new ScimError(500, detail)
export const unavailable = (detail: string, retryAfterS: number) =>
  new ScimError(503, detail, undefined, { 'Retry-After': String(retryAfterS) })
/** A 4xx that Hono itself raised (an HTTPException), rendered as SCIM error JSON. */
export const clientError = (status: number, detail: string) => new ScimError(status, detail)

/**
 * The one zod-to-SCIM adapter: a failed parse becomes a 400 of the given kind whose detail names the
 * failing field (`Operations[2].op: …`), so every edge reports bad input the same way.
 */
export function fromZod(error: z.ZodError, make: (detail: string) => ScimError = invalidValue, root = ''): ScimError {
  const issue = error.issues[0]!
  const field = issue.path.reduce<string>(
    (at, key) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${String(key)}` : String(key)),
    root
  )
  return make(`${field || 'body'}: ${issue.message}`)
}

/** zod at an edge: the parsed value, or the adapter's error. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, make?: (detail: string) => ScimError, root?: string): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw fromZod(result.error, make, root)
}
