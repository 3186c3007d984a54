import { config } from '../config'
import type { Context } from 'hono'
import { invalidSyntax, payloadTooLarge, unsupportedMediaType } from '../scim/errors'
import type { AppEnv } from './context'

const JSON_TYPE = /^application\/(?:scim\+)?json\s*(?:;|$)/i

/**
 * The request body as JSON: application/scim+json or application/json (or no Content-Type, which
 * some scripts omit), at most MAX_BODY_BYTES, read incrementally so an oversized body is refused
 * without being buffered whole.
 */
export async function readJson(c: Context<AppEnv>): Promise<unknown>
/** With `optional`: undefined for a request without a body (a POST whose options all have defaults). */
export async function readJson(c: Context<AppEnv>, options: { optional: true }): Promise<unknown>
export async function readJson(c: Context<AppEnv>, options: { optional?: boolean } = {}): Promise<unknown> {
  const type = c.req.header('content-type')
  if (type !== undefined && !JSON_TYPE.test(type.trim()))
    throw unsupportedMediaType(`Send the body as application/scim+json or application/json, not "${type}".`)
  const limit = config(c.env).maxBodyBytes
  const tooLarge = () => payloadTooLarge(`The request body is larger than ${limit} bytes, the most this endpoint accepts.`)
  if (Number(c.req.header('content-length')) > limit) throw tooLarge()
  const stream = c.req.raw.body
  if (!stream && options.optional) return undefined
  if (!stream) throw invalidSyntax('The request needs a JSON body.')
  const reader = stream.getReader()
  const parts: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw tooLarge()
    }
    parts.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const p of parts) {
    bytes.set(p, offset)
    offset += p.byteLength
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw invalidSyntax('The request body is not valid UTF-8 (RFC 8259 §8.1 requires it for JSON).')
  }
  if (text.trim() === '' && options.optional) return undefined
  if (text.trim() === '') throw invalidSyntax('The request needs a JSON body.')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw invalidSyntax(`The request body is not valid JSON: ${(e as Error).message}.`)
  }
  if (depthOf(value) > MAX_JSON_DEPTH)
    throw invalidSyntax(
      `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no SCIM message needs that many.`
    )
  return value
}

/**
 * Bounds every walk over a body (validation, Bulk's bulkId references) before it starts; the
 * deepest SCIM message (a Bulk operation's resource) needs fewer than ten levels.
 */
export const MAX_JSON_DEPTH = 32

/** How deeply `value` nests, measured without recursion so the measurement itself cannot overflow. */
function depthOf(value: unknown): number {
  let max = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (depth + 1 > max) max = depth + 1
    if (max > MAX_JSON_DEPTH) return max
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return max
}
