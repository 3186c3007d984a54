/** Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3). */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse'
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema'
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType'

export const SCIM_MEDIA_TYPE = 'application/scim+json'

/** Page size when a client sends no `count`, and the most we return in one page. */
export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000
/** Filters longer or deeper than this are refused with a clear error rather than parsed. */
export const MAX_FILTER_LENGTH = 4096
export const MAX_FILTER_DEPTH = 32
/**
 * D1 queries (statements) one Bulk operation is budgeted: a user or group write costs 2 to 10 (the
 * caller check, its guards, the write and its email rows, a read when a guard fails). A Worker invocation may run a bounded number
 * of queries (1,000 on the paid plan, 50 on the free one), and a Bulk request is one invocation.
 */
export const QUERIES_PER_BULK_OPERATION = 9
/** The share of the invocation's query budget a Bulk may plan for; the rest is headroom. */
export const BULK_BUDGET_SHARE = 0.9

/** Most operations in one POST /Bulk (advertised as bulk.maxOperations) for a per-invocation query budget. */
export const maxBulkOperations = (queryBudget: number) =>
  Math.max(1, Math.floor((queryBudget * BULK_BUDGET_SHARE) / QUERIES_PER_BULK_OPERATION))

/**
 * Bounds on one resource, so a single request cannot cost thousands of D1 rows: characters in a
 * string or reference value, and values in a multi-valued attribute (group members excepted, which
 * are bounded by the body size). Deployments change them with MAX_STRING_LENGTH / MAX_MULTI_VALUES.
 */
export interface ValueLimits {
  maxStringLength: number
  maxValues: number
}
export const DEFAULT_VALUE_LIMITS: ValueLimits = { maxStringLength: 1024, maxValues: 100 }
