import { invalidSyntax, invalidValue } from './errors'
import type { AttributeDefinition, SchemaDefinition } from './schemas/attribute'
import {
  findExtension,
  findIn,
  pathText,
  resolvePath,
  schemasOf,
  type ResolvedPath,
  type ResourceTypeDefinition,
} from './schemas/registry'

/**
 * A resource document: core attributes at the top, each extension's attributes under its URN key,
 * with canonical attribute names and values of the schema's types. Server-owned attributes (id,
 * meta, read-only ones) and write-only ones (password) never appear in it.
 */
export type ScimObject = Record<string, unknown>

export const isObject = (v: unknown): v is ScimObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const BOOLEAN_STRINGS: Record<string, boolean> = { true: true, false: false }

/** One value of `def`'s type; lenient where real IdPs are (Entra's "False", numbers as strings). */
function coerceSingle(def: AttributeDefinition, value: unknown, where: string): unknown {
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value === 'string') return value
      if (typeof value === 'number' && def.type === 'string') return String(value)
      throw invalidValue(`"${where}" must be a string.`)
    case 'dateTime':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return value
      throw invalidValue(`"${where}" must be an xsd:dateTime string such as 2024-05-01T12:00:00Z.`)
    case 'boolean': {
      if (typeof value === 'boolean') return value
      const b = typeof value === 'string' ? BOOLEAN_STRINGS[value.trim().toLowerCase()] : undefined
      if (b === undefined) throw invalidValue(`"${where}" must be a boolean (true or false).`)
      return b
    }
    case 'integer':
    case 'decimal': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
      if (typeof n !== 'number' || !Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n)))
        throw invalidValue(`"${where}" must be ${def.type === 'integer' ? 'an integer' : 'a number'}.`)
      return n
    }
    case 'complex': {
      if (!isObject(value)) throw invalidValue(`"${where}" must be an object.`)
      const out: ScimObject = {}
      for (const [key, subValue] of Object.entries(value)) {
        const sub = findIn(def.subAttributes, key)
        if (!sub) throw invalidValue(`"${where}" has no sub-attribute "${key}".`)
        if (subValue === null || sub.mutability === 'readOnly') continue
        out[sub.name] = coerceSingle(sub, subValue, `${where}.${sub.name}`)
      }
      return out
    }
  }
}

/** A value for attribute `def`: an array of coerced values if multi-valued, else one value. */
export function coerceValue(def: AttributeDefinition, value: unknown, where: string): unknown {
  if (def.multiValued) {
    const items = Array.isArray(value) ? value : [value]
    const out = items.filter((v) => v !== null).map((v) => coerceSingle(def, v, where))
    checkSinglePrimary(def, out, where)
    return out
  }
  if (Array.isArray(value)) throw invalidValue(`"${where}" takes a single value, not an array.`)
  return coerceSingle(def, value, where)
}

function checkSinglePrimary(def: AttributeDefinition, items: unknown[], where: string) {
  if (!findIn(def.subAttributes, 'primary')) return
  if (items.filter((i) => isObject(i) && i.primary === true).length > 1)
    throw invalidValue(`At most one value of "${where}" may have "primary": true.`)
}

/** Where a resolved attribute lives in a document: the document itself or its extension object. */
export function containerFor(doc: ScimObject, path: ResolvedPath, create: boolean): ScimObject | undefined {
  if (!path.extension) return doc
  const existing = doc[path.schema.id]
  if (isObject(existing)) return existing
  if (!create) return undefined
  const made: ScimObject = {}
  doc[path.schema.id] = made
  return made
}

function assign(doc: ScimObject, path: ResolvedPath, value: unknown) {
  const { attribute, subAttribute } = path
  const where = pathText(path)
  const target = subAttribute ?? attribute
  if (value === null || attribute.mutability === 'readOnly' || target.mutability === 'readOnly') return
  const coerced = coerceValue(target, value, where)
  if (attribute.mutability === 'writeOnly' || target.mutability === 'writeOnly') return // validated, never kept
  const container = containerFor(doc, path, true)!
  if (!subAttribute) {
    container[attribute.name] = coerced
    return
  }
  if (attribute.multiValued) throw invalidValue(`"${where}" names a sub-attribute of a multi-valued attribute.`)
  const parent = isObject(container[attribute.name]) ? (container[attribute.name] as ScimObject) : {}
  parent[subAttribute.name] = coerced
  container[attribute.name] = parent
}

function assignExtension(doc: ScimObject, rt: ResourceTypeDefinition, ext: SchemaDefinition, value: unknown) {
  if (value === null) return
  if (!isObject(value)) throw invalidValue(`"${ext.id}" must be an object of ${ext.name} attributes.`)
  for (const [key, v] of Object.entries(value)) {
    const path = resolvePath(rt, `${ext.id}:${key}`)
    if (!path) throw invalidValue(`The ${ext.name} extension has no attribute "${key}".`)
    assign(doc, path, v)
  }
}

/**
 * Validates a client's resource representation (POST/PUT body) against the registry and returns
 * its document. Attribute names match case-insensitively; unknown attributes are refused so that a
 * misspelt mapping in an IdP surfaces as an error instead of silently losing data.
 */
export function parseResource(rt: ResourceTypeDefinition, input: unknown): ScimObject {
  if (!isObject(input)) throw invalidSyntax(`The request body must be a JSON object representing a ${rt.name}.`)
  const doc: ScimObject = {}
  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === 'schemas') {
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
        throw invalidSyntax('"schemas" must be an array of schema URIs.')
      continue
    }
    const ext = findExtension(rt, key)
    if (ext) {
      assignExtension(doc, rt, ext, value)
      continue
    }
    const path = resolvePath(rt, key)
    if (!path) {
      const hint = key.toLowerCase().startsWith('urn:') ? ' Supported schemas: ' + schemasOf(rt).map((s) => s.id).join(', ') + '.' : ''
      throw invalidValue(`Unknown attribute "${key}" for a ${rt.name}.${hint}`)
    }
    assign(doc, path, value)
  }
  return checkRequired(rt, doc)
}

/** Required attributes present and non-empty (RFC 7643 §2.2 "required"). */
export function checkRequired(rt: ResourceTypeDefinition, doc: ScimObject): ScimObject {
  for (const def of rt.schema.attributes) {
    if (!def.required) continue
    const v = doc[def.name]
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === ''))
      throw invalidValue(`"${def.name}" is required for a ${rt.name}.`)
  }
  for (const { schema } of rt.extensions) {
    const ext = doc[schema.id]
    if (isObject(ext) && Object.keys(ext).length === 0) delete doc[schema.id]
  }
  return doc
}
