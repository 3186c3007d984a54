import * as z from 'zod'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SEARCH_REQUEST_SCHEMA } from './constants'
import { invalidValue } from './errors'
import type { Filter } from './filter/ast'
import { parseFilter } from './filter/parse'

const integer = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^[+-]?\d+$/, { error: `"${name}" must be an integer.` })
    .transform(Number)
    .optional()

const listQuerySchema = z.object({
  filter: z.string().optional(),
  startIndex: integer('startIndex'),
  count: integer('count'),
  attributes: z.string().optional(),
  excludedAttributes: z.string().optional(),
})

export interface ListQuery {
  filter?: Filter
  /** 1-based; values below 1 mean 1 (RFC 7644 §3.4.2.4). */
  startIndex: number
  /** 0..MAX_PAGE_SIZE; negative means 0, absent means DEFAULT_PAGE_SIZE. */
  count: number
  attributes?: string
  excludedAttributes?: string
}

/** Parses the query string of a list request (RFC 7644 §3.4.2). */
export function parseListQuery(query: Record<string, string>): ListQuery {
  const parsed = listQuerySchema.safeParse(query)
  if (!parsed.success) throw invalidValue(parsed.error.issues[0]!.message)
  return toListQuery(parsed.data)
}

const attributeList = z.union([z.string(), z.array(z.string()).transform((a) => a.join(','))]).optional()
const searchRequestSchema = z.object({
  schemas: z.array(z.string()).optional(),
  filter: z.string({ error: '"filter" must be a string.' }).optional(),
  startIndex: z.number({ error: '"startIndex" must be an integer.' }).int({ error: '"startIndex" must be an integer.' }).optional(),
  count: z.number({ error: '"count" must be an integer.' }).int({ error: '"count" must be an integer.' }).optional(),
  attributes: attributeList,
  excludedAttributes: attributeList,
})

/** Parses a SearchRequest body (POST …/.search, RFC 7644 §3.4.3) into the same query a GET takes. */
export function parseSearchRequest(body: unknown): ListQuery {
  const parsed = searchRequestSchema.safeParse(body)
  if (!parsed.success) throw invalidValue(parsed.error.issues[0]!.message)
  if (parsed.data.schemas && !parsed.data.schemas.includes(SEARCH_REQUEST_SCHEMA))
    throw invalidValue(`A SearchRequest's "schemas" must contain "${SEARCH_REQUEST_SCHEMA}".`)
  return toListQuery(parsed.data)
}

function toListQuery(q: { filter?: string; startIndex?: number; count?: number; attributes?: string; excludedAttributes?: string }): ListQuery {
  const filter = q.filter !== undefined && q.filter.trim() !== '' ? parseFilter(q.filter) : undefined
  return {
    ...(filter ? { filter } : {}),
    startIndex: Math.max(1, q.startIndex ?? 1),
    count: Math.min(MAX_PAGE_SIZE, Math.max(0, q.count ?? DEFAULT_PAGE_SIZE)),
    ...(q.attributes !== undefined ? { attributes: q.attributes } : {}),
    ...(q.excludedAttributes !== undefined ? { excludedAttributes: q.excludedAttributes } : {}),
  }
}
