import { Hono } from 'hono'
import {
  allResourceTypeDocs,
  allSchemaDocs,
  findResourceType,
  findSchema,
  resourceTypeDoc,
  schemaDoc,
  serviceProviderConfig,
} from '../../scim/discovery'
import { notFound } from '../../scim/errors'
import { config } from '../../config'
import type { AppEnv } from '../context'
import { scimBaseUrl, scimJson } from '../respond'
import { listResponse } from './list'

const ALL = { page: { method: 'index', startIndex: 1, count: Number.MAX_SAFE_INTEGER } } as const

/** RFC 7644 §4 discovery, generated from the schema registry. Public: it describes no one's data. */
export const discoveryRoutes = new Hono<AppEnv>({ strict: false })
  .get('/ServiceProviderConfig', (c) =>
    scimJson(c, serviceProviderConfig(scimBaseUrl(c), config(c.env).maxBodyBytes, config(c.env).bulkMaxOperations))
  )
  .get('/Schemas', (c) => {
    const docs = allSchemaDocs(scimBaseUrl(c))
    return scimJson(c, listResponse(ALL, { total: docs.length }, docs))
  })
  .get('/Schemas/:id', (c) => {
    const schema = findSchema(c.req.param('id'))
    if (!schema) throw notFound(`No schema "${c.req.param('id')}". GET /Schemas lists them.`)
    return scimJson(c, schemaDoc(schema, scimBaseUrl(c)))
  })
  .get('/ResourceTypes', (c) => {
    const docs = allResourceTypeDocs(scimBaseUrl(c))
    return scimJson(c, listResponse(ALL, { total: docs.length }, docs))
  })
  .get('/ResourceTypes/:id', (c) => {
    const rt = findResourceType(c.req.param('id'))
    if (!rt) throw notFound(`No resource type "${c.req.param('id')}". GET /ResourceTypes lists them.`)
    return scimJson(c, resourceTypeDoc(rt, scimBaseUrl(c)))
  })
