import * as z from 'zod'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './constants'
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
  const q = parsed.data
  const filter = q.filter !== undefined && q.filter.trim() !== '' ? parseFilter(q.filter) : undefined
  return {
    ...(filter ? { filter } : {}),
    startIndex: Math.max(1, q.startIndex ?? 1),
    count: Math.min(MAX_PAGE_SIZE, Math.max(0, q.count ?? DEFAULT_PAGE_SIZE)),
    ...(q.attributes !== undefined ? { attributes: q.attributes } : {}),
    ...(q.excludedAttributes !== undefined ? { excludedAttributes: q.excludedAttributes } : {}),
  }
}
