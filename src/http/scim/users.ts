import { Hono, type Context } from 'hono'
import { createUser, deleteUser, getUser, listUsers, updateUser } from '../../directory/users'
import { notFound } from '../../scim/errors'
import { parseListQuery, parseSearchRequest, type ListQuery } from '../../scim/list-query'
import { applyPatch, parsePatchRequest } from '../../scim/patch'
import { includesAttribute, parseProjection, project } from '../../scim/projection'
import { renderUser } from '../../scim/render'
import { parseResource, type ScimObject } from '../../scim/resource'
import { USER_RESOURCE } from '../../scim/schemas/registry'
import type { UserRecord } from '../../directory/records'
import { readJson } from '../body'
import { config } from '../../config'
import type { AppEnv } from '../context'
import { scimBaseUrl, scimJson } from '../respond'
import { listResponse } from './list'
import { notModified, projectionOf, respondResource } from './respond-resource'
import { checkIfMatch } from '../../scim/etag'

const respondWith = (c: Context<AppEnv>, user: UserRecord, status: 200 | 201 = 200) =>
  respondResource(c, USER_RESOURCE, renderUser(user, scimBaseUrl(c)), user.version, status)

const missing = (id: string) => notFound(`No user with id "${id}" in this integration.`)

/**
 * PUT and PATCH: the next document from the current one, under If-Match. Without If-Match the
 * write may start from this isolate's copy of the user (src/directory/recent.ts); with it, only the
 * stored version can answer, so the user is read.
 */
async function rewrite(c: Context<AppEnv>, next: (current: UserRecord) => ScimObject | undefined) {
  const id = c.req.param('id')!
  const ifMatch = c.req.header('if-match')
  const compute = (current: UserRecord) => {
    checkIfMatch(ifMatch, current.version, `User "${id}"`)
    return next(current)
  }
  return respondWith(c, await updateUser(c.get('session'), id, compute, false, ifMatch === undefined))
}

/** GET /Users and POST /Users/.search: one query, two spellings. */
async function list(c: Context<AppEnv>, q: ListQuery) {
  const projection = parseProjection(USER_RESOURCE, q.attributes, q.excludedAttributes)
  const page = await listUsers(c.get('session'), q, includesAttribute(projection, 'groups'))
  const base = scimBaseUrl(c)
  return scimJson(
    c,
    listResponse(
      q,
      page,
      page.items.map((u) => project(USER_RESOURCE, renderUser(u, base), projection))
    )
  )
}

export const userRoutes = new Hono<AppEnv>({ strict: false })
  .get('/', async (c) => list(c, parseListQuery(c.req.query())))
  .post('/.search', async (c) => list(c, parseSearchRequest(await readJson(c))))
  .post('/', async (c) => {
    const doc = parseResource(USER_RESOURCE, await readJson(c), config(c.env).limits)
    // A user created without `active` is active (Entra and Okta omit it at times).
    const { user } = await createUser(c.get('session'), { ...doc, active: doc.active ?? true })
    // 201 for a restored user too: to the client this POST created the account it asked for.
    return respondWith(c, user, 201)
  })
  .get('/:id', async (c) => {
    const id = c.req.param('id')
    const user = await getUser(c.get('session'), id, includesAttribute(projectionOf(c, USER_RESOURCE), 'groups'))
    if (!user) throw missing(id)
    return notModified(c, user.version) ?? respondWith(c, user)
  })
  .put('/:id', async (c) => {
    const doc = parseResource(USER_RESOURCE, await readJson(c), config(c.env).limits)
    return rewrite(c, (current) => {
      // A PUT that leaves out `active` does not un-archive or archive anyone.
      const next = { ...doc, active: doc.active ?? current.doc.active ?? true }
      return JSON.stringify(next) === JSON.stringify(current.doc) ? undefined : next
    })
  })
  .patch('/:id', async (c) => {
    const operations = parsePatchRequest(await readJson(c))
    return rewrite(c, (current) => {
      const result = applyPatch(current.doc, operations, { rt: USER_RESOURCE, id: current.id, limits: config(c.env).limits })
      return result.modified ? result.doc : undefined
    })
  })
  .delete('/:id', async (c) => {
    const id = c.req.param('id')
    await deleteUser(c.get('session'), id, (version) => checkIfMatch(c.req.header('if-match'), version, `User "${id}"`))
    return c.body(null, 204)
  })
