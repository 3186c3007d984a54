import { Hono } from 'hono'
import { listGroups } from '../../directory/groups'
import { listUsers } from '../../directory/users'
import { invalidFilter, invalidValue } from '../../scim/errors'
import { attributesOf } from '../../scim/filter/ast'
import { parseSearchRequest, type ListQuery } from '../../scim/list-query'
import { includesAttribute, parseProjection, project } from '../../scim/projection'
import { renderGroup, renderUser } from '../../scim/render'
import { GROUP_RESOURCE, resolvePath, USER_RESOURCE, type ResourceTypeDefinition } from '../../scim/schemas/registry'
import { readJson } from '../body'
import type { AppEnv } from '../context'
import { scimBaseUrl, scimJson } from '../respond'
import { listResponse } from './list'

/** Whether every attribute the query's filter names exists in `rt` (RFC 7644 §3.4.3: other types do not match). */
const searchable = (rt: ResourceTypeDefinition, q: ListQuery) =>
  !q.filter || attributesOf(q.filter).every((a) => resolvePath(rt, a) !== undefined)

/**
 * POST /.search at the root: one result set over Users, then Groups, with index pagination. Sorting
 * and cursors are per resource type, so they are offered on /Users/.search and /Groups/.search.
 */
export const rootSearchRoutes = new Hono<AppEnv>({ strict: false }).post('/.search', async (c) => {
  const q = parseSearchRequest(await readJson(c))
  if (q.sort) throw invalidValue('sortBy is supported on /Users/.search and /Groups/.search, not across resource types.')
  if (q.page.method !== 'index')
    throw invalidValue('Cursor pagination is supported on /Users/.search and /Groups/.search, not across resource types.')
  const { startIndex, count } = q.page
  const searchUsers = searchable(USER_RESOURCE, q)
  const searchGroups = searchable(GROUP_RESOURCE, q)
  if (!searchUsers && !searchGroups) throw invalidFilter('The filter names attributes that neither Users nor Groups have; see /Schemas.')
  const session = c.get('session')
  const base = scimBaseUrl(c)
  const resources: unknown[] = []
  let total = 0

  if (searchUsers) {
    const projection = parseProjection(USER_RESOURCE, q.attributes, q.excludedAttributes)
    const page = await listUsers(session, q, includesAttribute(projection, 'groups'))
    total += page.total
    resources.push(...page.items.map((u) => project(USER_RESOURCE, renderUser(u, base), projection)))
  }
  if (searchGroups) {
    // Groups continue where Users ended: their window starts after the users the query matched.
    const remaining = count - resources.length
    const groupStart = Math.max(1, startIndex - total)
    const projection = parseProjection(GROUP_RESOURCE, q.attributes, q.excludedAttributes)
    const page = await listGroups(
      session,
      { ...q, page: { method: 'index', startIndex: groupStart, count: remaining } },
      includesAttribute(projection, 'members')
    )
    total += page.total
    resources.push(...page.items.map((g) => project(GROUP_RESOURCE, renderGroup(g, base), projection)))
  }
  return scimJson(c, listResponse(q, { total }, resources))
})
