import { Hono, type Context } from 'hono'
import { changeMembers, createGroup, deleteGroup, getGroup, listGroups, updateGroup } from '../../directory/groups'
import type { GroupRecord } from '../../directory/records'
import { invalidValue, notFound } from '../../scim/errors'
import { parseListQuery, parseSearchRequest, type ListQuery } from '../../scim/list-query'
import { applyPatch, externalChanges, parsePatchRequest, type CollectionChange } from '../../scim/patch'
import { includesAttribute, parseProjection, project } from '../../scim/projection'
import { etagOf, renderGroup } from '../../scim/render'
import { parseResource, type ScimObject } from '../../scim/resource'
import { GROUP_RESOURCE } from '../../scim/schemas/registry'
import { readJson } from '../body'
import { config } from '../../config'
import type { AppEnv } from '../context'
import { scimBaseUrl, scimJson } from '../respond'
import { listResponse } from './list'
import { notModified, projectionOf, respondResource } from './respond-resource'
import { checkIfMatch } from '../../scim/etag'

const respondWith = (c: Context<AppEnv>, group: GroupRecord, status: 200 | 201 = 200) =>
  respondResource(c, GROUP_RESOURCE, renderGroup(group, scimBaseUrl(c)), group.version, status)

/** A group document without its members, which the directory keeps as rows, and the members. */
function splitMembers(doc: ScimObject): { doc: ScimObject; members: ScimObject[] | undefined } {
  const { members, ...rest } = doc
  const list = members as ScimObject[] | undefined
  for (const m of list ?? [])
    if (typeof m.value !== 'string' || m.value === '') throw invalidValue('Each of "members" needs a "value": the id of a user or group.')
  return { doc: rest, members: list }
}

const missing = (id: string) => notFound(`No group with id "${id}" in this integration.`)

/** GET /Groups and POST /Groups/.search: one query, two spellings. */
async function list(c: Context<AppEnv>, q: ListQuery) {
  const projection = parseProjection(GROUP_RESOURCE, q.attributes, q.excludedAttributes)
  const page = await listGroups(c.get('session'), q, includesAttribute(projection, 'members'))
  const base = scimBaseUrl(c)
  return scimJson(
    c,
    listResponse(
      q,
      page,
      page.items.map((g) => project(GROUP_RESOURCE, renderGroup(g, base), projection))
    )
  )
}

export const groupRoutes = new Hono<AppEnv>({ strict: false })
  .get('/', async (c) => list(c, parseListQuery(c.req.query())))
  .post('/.search', async (c) => list(c, parseSearchRequest(await readJson(c))))
  .post('/', async (c) => {
    const { doc, members } = splitMembers(parseResource(GROUP_RESOURCE, await readJson(c), config(c.env).limits))
    return respondWith(c, await createGroup(c.get('session'), doc, members ?? []), 201)
  })
  .get('/:id', async (c) => {
    const id = c.req.param('id')
    const group = await getGroup(c.get('session'), id, includesAttribute(projectionOf(c, GROUP_RESOURCE), 'members'))
    if (!group) throw missing(id)
    return notModified(c, group.version) ?? respondWith(c, group)
  })
  .put('/:id', async (c) => {
    const id = c.req.param('id')
    const { doc, members } = splitMembers(parseResource(GROUP_RESOURCE, await readJson(c), config(c.env).limits))
    // A PUT without "members" keeps the membership: nothing is dropped because a client left it out.
    const changes: CollectionChange[] = members ? [{ kind: 'clear' }, { kind: 'add', values: members }] : []
    await updateGroup(c.get('session'), id, (current) => {
      checkIfMatch(c.req.header('if-match'), current.version, `Group "${id}"`)
      return { doc, changes }
    })
    const group = await getGroup(c.get('session'), id, includesAttribute(projectionOf(c, GROUP_RESOURCE), 'members'))
    if (!group) throw missing(id)
    return respondWith(c, group)
  })
  .patch('/:id', async (c) => {
    const id = c.req.param('id')
    const operations = parsePatchRequest(await readJson(c))
    const ifMatch = c.req.header('if-match')
    const options = { rt: GROUP_RESOURCE, id, external: ['members'], limits: config(c.env).limits }
    // Members alone (what IdPs send) need neither the stored document nor, without If-Match, its version.
    const memberChanges = ifMatch === undefined ? externalChanges(operations, options) : undefined
    const record = memberChanges
      ? await changeMembers(c.get('session'), id, memberChanges)
      : (
          await updateGroup(c.get('session'), id, (current) => {
            checkIfMatch(ifMatch, current.version, `Group "${id}"`)
            const result = applyPatch(current.doc, operations, options)
            return result.modified ? { doc: result.doc, changes: result.changes } : undefined
          })
        ).record
    // 204 unless the client asked for attributes back: returning a large group's members after
    // every membership change is what makes other servers slow (Entra and Okta accept 204).
    if (c.req.query('attributes') === undefined && c.req.query('excludedAttributes') === undefined) {
      return c.body(null, 204, { ETag: etagOf(record.version) })
    }
    const withMembers = includesAttribute(projectionOf(c, GROUP_RESOURCE), 'members')
    const group = withMembers ? await getGroup(c.get('session'), id, true) : record
    if (!group) throw missing(id)
    return respondWith(c, group)
  })
  .delete('/:id', async (c) => {
    const id = c.req.param('id')
    await deleteGroup(c.get('session'), id, (version) => checkIfMatch(c.req.header('if-match'), version, `Group "${id}"`))
    return c.body(null, 204)
  })
