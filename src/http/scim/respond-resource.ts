import type { Context } from 'hono'
import { parseProjection, project } from '../../scim/projection'
import { etagMatches } from '../../scim/etag'
import { etagOf } from '../../scim/render'
import type { ScimObject } from '../../scim/resource'
import type { ResourceTypeDefinition } from '../../scim/schemas/registry'
import type { AppEnv } from '../context'
import { scimJson } from '../respond'

/** The request's `attributes` / `excludedAttributes`, resolved for `rt`. */
export const projectionOf = (c: Context<AppEnv>, rt: ResourceTypeDefinition) =>
  parseProjection(rt, c.req.query('attributes'), c.req.query('excludedAttributes'))

/** A rendered resource, projected as the client asked, with its ETag (and Location when created). */
export function respondResource(
  c: Context<AppEnv>,
  rt: ResourceTypeDefinition,
  rendered: ScimObject,
  version: number,
  status: 200 | 201 = 200
) {
  const headers: Record<string, string> = { ETag: etagOf(version) }
  if (status === 201) headers.Location = (rendered.meta as { location: string }).location
  return scimJson(c, project(rt, rendered, projectionOf(c, rt)), status, headers)
}

/** 304 when the client's If-None-Match names the current version (RFC 7644 §3.14), else undefined. */
export function notModified(c: Context<AppEnv>, version: number): Response | undefined {
  const header = c.req.header('if-none-match')
  return header !== undefined && etagMatches(header, version) ? c.body(null, 304, { ETag: etagOf(version) }) : undefined
}
