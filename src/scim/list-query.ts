import * as z from 'zod'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SEARCH_REQUEST_SCHEMA } from './constants'
import { invalidCount, invalidValue, parseWith } from './errors'
import type { Filter } from './filter/ast'
import { parseFilter } from './filter/parse'

/** A list request (GET with query parameters, or POST …/.search), parsed (RFC 7644 §3.4.2, RFC 9865). */
export interface ListQuery {
  filter?: Filter
  sort?: { by: string; descending: boolean }
  page:
    | { method: 'index'; /** 1-based; below 1 means 1 */ startIndex: number; count: number }
    | { method: 'cursor'; /** '' asks for the first page */ cursor: string; count: number }
  attributes?: string
  excludedAttributes?: string
}

/** The parameters both spellings share, before validation of their combination. */
interface RawQuery {
  filter?: string
  startIndex?: number
  count?: number
  cursor?: string
  sortBy?: string
  sortOrder?: string
  attributes?: string
  excludedAttributes?: string
}

const integer = () =>
  z
    .string()
    .trim()
    .regex(/^[+-]?\d+$/, { error: 'must be an integer.' })
    .transform(Number)
    .optional()

const queryStringSchema = z.object({
  filter: z.string().optional(),
  startIndex: integer(),
  count: integer(),
  cursor: z.string().optional(),
  sortBy: z.string().optional(),
  sortOrder: z.string().optional(),
  attributes: z.string().optional(),
  excludedAttributes: z.string().optional(),
})

const int = () => z.number({ error: 'must be an integer.' }).int({ error: 'must be an integer.' }).optional()
const str = () => z.string({ error: 'must be a string.' }).optional()
const attributeList = z.union([z.string(), z.array(z.string()).transform((a) => a.join(','))]).optional()

const searchRequestSchema = z.object({
  schemas: z.array(z.string()).optional(),
  filter: str(),
  startIndex: int(),
  count: int(),
  cursor: str(),
  sortBy: str(),
  sortOrder: str(),
  attributes: attributeList,
  excludedAttributes: attributeList,
})

/** Parses the query string of GET /Users or /Groups. */
export function parseListQuery(query: Record<string, string>): ListQuery {
  return toListQuery(parseWith(queryStringSchema, query, invalidValue))
}

/** Parses a SearchRequest body (POST …/.search, RFC 7644 §3.4.3) into the same query a GET takes. */
export function parseSearchRequest(body: unknown): ListQuery {
  const request = parseWith(searchRequestSchema, body, invalidValue)
  if (request.schemas && !request.schemas.includes(SEARCH_REQUEST_SCHEMA))
    throw invalidValue(`A SearchRequest's "schemas" must contain "${SEARCH_REQUEST_SCHEMA}".`)
  return toListQuery(request)
}

/**
 * The largest startIndex taken: far beyond any directory, and small enough that SQLite's OFFSET and
 * JavaScript's numbers hold it exactly. Above it the value is refused rather than rounded.
 */
export const MAX_START_INDEX = 2 ** 31 - 1

function toListQuery(q: RawQuery): ListQuery {
  if (q.startIndex !== undefined && q.startIndex > MAX_START_INDEX)
    throw invalidValue(`"startIndex" must be at most ${MAX_START_INDEX}; a larger value addresses no page.`)
  const filter = q.filter !== undefined && q.filter.trim() !== '' ? parseFilter(q.filter) : undefined
  const order = q.sortOrder?.trim().toLowerCase()
  if (order !== undefined && order !== 'ascending' && order !== 'descending')
    throw invalidValue(`"sortOrder" must be "ascending" or "descending", not "${q.sortOrder}".`)
  const sortBy = q.sortBy?.trim()
  let page: ListQuery['page']
  if (q.cursor !== undefined) {
    if (q.startIndex !== undefined)
      throw invalidValue('Use either "startIndex" (index pagination) or "cursor" (cursor pagination), not both.')
    if (q.count !== undefined && q.count < 1) throw invalidCount(`"count" must be between 1 and ${MAX_PAGE_SIZE} with cursor pagination.`)
    page = { method: 'cursor', cursor: q.cursor.trim(), count: Math.min(MAX_PAGE_SIZE, q.count ?? DEFAULT_PAGE_SIZE) }
  } else {
    page = {
      method: 'index',
      startIndex: Math.max(1, q.startIndex ?? 1),
      count: Math.min(MAX_PAGE_SIZE, Math.max(0, q.count ?? DEFAULT_PAGE_SIZE)),
    }
  }
  return {
    ...(filter ? { filter } : {}),
    // sortOrder without sortBy orders nothing (RFC 7644 §3.4.2.3): the default order is by id.
    ...(sortBy ? { sort: { by: sortBy, descending: order === 'descending' } } : {}),
    page,
    ...(q.attributes !== undefined ? { attributes: q.attributes } : {}),
    ...(q.excludedAttributes !== undefined ? { excludedAttributes: q.excludedAttributes } : {}),
  }
}
