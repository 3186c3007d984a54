import type { Context } from 'hono'
import { invalidSyntax, payloadTooLarge, unsupportedMediaType } from '../scim/errors'
import type { AppEnv } from './context'

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

export const maxBodyBytes = (env: Env) => Number(env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES

const JSON_TYPE = /^application\/(?:scim\+)?json\s*(?:;|$)/i

/**
 * The request body as JSON: application/scim+json or application/json (or no Content-Type, which
 * some scripts omit), at most MAX_BODY_BYTES, read incrementally so an oversized body is refused
 * without being buffered whole.
 */
export async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const type = c.req.header('content-type')
  if (type !== undefined && !JSON_TYPE.test(type.trim()))
    throw unsupportedMediaType(`Send the body as application/scim+json or application/json, not "${type}".`)
  const limit = maxBodyBytes(c.env)
  const tooLarge = () => payloadTooLarge(`The request body is larger than ${limit} bytes, the most this endpoint accepts.`)
  if (Number(c.req.header('content-length')) > limit) throw tooLarge()
  const stream = c.req.raw.body
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
  const text = new TextDecoder().decode(bytes)
  if (text.trim() === '') throw invalidSyntax('The request needs a JSON body.')
  try {
    return JSON.parse(text)
  } catch (e) {
    throw invalidSyntax(`The request body is not valid JSON: ${(e as Error).message}.`)
  }
}
