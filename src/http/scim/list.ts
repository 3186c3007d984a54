import { LIST_RESPONSE_SCHEMA } from '../../scim/constants'

/** RFC 7644 §3.4.2 ListResponse; itemsPerPage is the number of resources in this page (Okta reads it so). */
export const listResponse = (totalResults: number, startIndex: number, resources: unknown[]) => ({
  schemas: [LIST_RESPONSE_SCHEMA],
  totalResults,
  itemsPerPage: resources.length,
  startIndex,
  Resources: resources,
})
