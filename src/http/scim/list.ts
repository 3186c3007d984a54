import { LIST_RESPONSE_SCHEMA } from '../../scim/constants'
import type { ListQuery } from '../../scim/list-query'

/**
 * RFC 7644 §3.4.2 ListResponse. itemsPerPage is the number of resources in this page (Okta reads it
 * so); cursor pages carry nextCursor/previousCursor (RFC 9865) instead of startIndex.
 */
export function listResponse(
  q: Pick<ListQuery, 'page'>,
  page: { total: number; nextCursor?: string; previousCursor?: string },
  resources: unknown[]
) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: page.total,
    itemsPerPage: resources.length,
    ...(q.page.method === 'index' ? { startIndex: q.page.startIndex } : {}),
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    ...(page.previousCursor ? { previousCursor: page.previousCursor } : {}),
    Resources: resources,
  }
}
