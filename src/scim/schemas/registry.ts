import { COMMON_ATTRIBUTES, type AttributeDefinition, type SchemaDefinition } from './attribute'
import { groupSchema } from './group'
import { enterpriseUserSchema, userSchema } from './user'

export interface ResourceTypeDefinition {
  id: 'User' | 'Group'
  name: string
  endpoint: string
  description: string
  schema: SchemaDefinition
  extensions: { schema: SchemaDefinition; required: boolean }[]
}

export const USER_RESOURCE: ResourceTypeDefinition = {
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  description: 'User Account',
  schema: userSchema,
  extensions: [{ schema: enterpriseUserSchema, required: false }],
}

export const GROUP_RESOURCE: ResourceTypeDefinition = {
  id: 'Group',
  name: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  schema: groupSchema,
  extensions: [],
}

export const RESOURCE_TYPES = [USER_RESOURCE, GROUP_RESOURCE] as const
export const SCHEMAS: SchemaDefinition[] = [userSchema, enterpriseUserSchema, groupSchema]

/** An attribute path resolved against the registry, with canonical spelling. */
export interface ResolvedPath {
  schema: SchemaDefinition
  /** True when the attribute lives under its extension's URN key in the resource document. */
  extension: boolean
  attribute: AttributeDefinition
  subAttribute?: AttributeDefinition
}

const lower = (s: string) => s.toLowerCase()
export const findIn = (defs: readonly AttributeDefinition[] | undefined, name: string) => defs?.find((d) => lower(d.name) === lower(name))

/** The schemas a resource type's documents may contain, core first. */
export const schemasOf = (rt: ResourceTypeDefinition) => [rt.schema, ...rt.extensions.map((e) => e.schema)]

/** The extension schema whose URN is `urn` (case-insensitive), if `urn` names one of rt's extensions. */
export const findExtension = (rt: ResourceTypeDefinition, urn: string) =>
  rt.extensions.find((e) => lower(e.schema.id) === lower(urn))?.schema

/**
 * Resolves `attr`, `attr.sub`, or a URN-qualified form (`urn:…:User:attr.sub`) as RFC 7644 §3.10
 * allows, case-insensitively (RFC 7643 §2.1). Returns undefined for anything the schema lacks.
 */
export function resolvePath(rt: ResourceTypeDefinition, text: string): ResolvedPath | undefined {
  let schema = rt.schema
  let rest = text
  if (lower(text).startsWith('urn:')) {
    const match = schemasOf(rt).find((s) => lower(text).startsWith(lower(s.id) + ':'))
    if (!match) return undefined
    schema = match
    rest = text.slice(match.id.length + 1)
  }
  const [name, sub, ...more] = rest.split('.')
  if (!name || more.length > 0) return undefined
  const attribute = findIn(schema.attributes, name) ?? (schema === rt.schema ? findIn(COMMON_ATTRIBUTES, name) : undefined)
  if (!attribute) return undefined
  if (sub === undefined) return { schema, extension: schema !== rt.schema, attribute }
  const subAttribute = findIn(attribute.subAttributes, sub)
  if (!subAttribute) return undefined
  return { schema, extension: schema !== rt.schema, attribute, subAttribute }
}

/** Canonical text of a resolved path, e.g. `emails.value` or `urn:…:enterprise:2.0:User:department`. */
export function pathText(p: ResolvedPath): string {
  const local = p.subAttribute ? `${p.attribute.name}.${p.subAttribute.name}` : p.attribute.name
  return p.extension ? `${p.schema.id}:${local}` : local
}
