import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SPC_SCHEMA } from './constants'
import type { ScimObject } from './resource'
import type { AttributeDefinition, SchemaDefinition } from './schemas/attribute'
import { RESOURCE_TYPES, SCHEMAS, type ResourceTypeDefinition } from './schemas/registry'

/** RFC 7643 §5. What this endpoint does, advertised honestly: only features that work are "supported". */
export function serviceProviderConfig(baseUrl: string, maxBodyBytes: number, maxOperations: number): ScimObject {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://github.com/scim-directory/scim-directory#readme',
    patch: { supported: true },
    bulk: { supported: true, maxOperations, maxPayloadSize: maxBodyBytes },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: DEFAULT_PAGE_SIZE,
      maxPageSize: MAX_PAGE_SIZE,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: "The integration's token, sent as Authorization: Bearer <token>.",
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  }
}

function attributeDoc(a: AttributeDefinition): ScimObject {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    description: a.description,
    required: a.required,
    caseExact: a.caseExact,
    mutability: a.mutability,
    returned: a.returned,
    uniqueness: a.uniqueness,
    ...(a.canonicalValues && a.canonicalValues.length > 0 ? { canonicalValues: a.canonicalValues } : {}),
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(attributeDoc) } : {}),
  }
}

export function schemaDoc(s: SchemaDefinition, baseUrl: string): ScimObject {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(attributeDoc),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  }
}

export function resourceTypeDoc(rt: ResourceTypeDefinition, baseUrl: string): ScimObject {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: rt.id,
    name: rt.name,
    endpoint: rt.endpoint,
    description: rt.description,
    schema: rt.schema.id,
    schemaExtensions: rt.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${rt.id}` },
  }
}

export const allSchemaDocs = (baseUrl: string) => SCHEMAS.map((s) => schemaDoc(s, baseUrl))
export const allResourceTypeDocs = (baseUrl: string) => RESOURCE_TYPES.map((rt) => resourceTypeDoc(rt, baseUrl))
export const findSchema = (id: string) => SCHEMAS.find((s) => s.id.toLowerCase() === id.toLowerCase())
export const findResourceType = (id: string) => RESOURCE_TYPES.find((rt) => rt.id.toLowerCase() === id.toLowerCase())
