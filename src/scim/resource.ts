import { DEFAULT_VALUE_LIMITS, type ValueLimits } from './constants'
import { invalidSyntax, invalidValue } from './errors'
import type { AttributeDefinition, SchemaDefinition } from './schemas/attribute'
import { findExtension, findIn, pathText, resolvePath, schemasOf, type ResolvedPath, type ResourceTypeDefinition } from './schemas/registry'

/**
 * A resource document: core attributes at the top, each extension's attributes under its URN key,
 * with canonical attribute names and values of the schema's types. Server-owned attributes (id,
 * meta, read-only ones) and write-only ones (password) never appear in it.
 */
export type ScimObject = Record<string, unknown>

export const isObject = (v: unknown): v is ScimObject => typeof v === 'object' && v !== null && !Array.isArray(v)

const BOOLEAN_STRINGS: Record<string, boolean> = { true: true, false: false }

/** A UTF-16 surrogate without its pair: not text, and D1 would store it as U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/

/** Identifiers (unique attributes and externalId) are matched and shown everywhere; no control characters in them. */
const isIdentifier = (def: AttributeDefinition) => def.uniqueness !== 'none' || def.name === 'externalId'

const describe = (v: unknown) =>
  Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`

function checkText(def: AttributeDefinition, value: string, where: string, limits: ValueLimits): string {
  if (LONE_SURROGATE.test(value)) throw invalidValue(`"${where}" contains an unpaired UTF-16 surrogate, which is not text.`)
  if (isIdentifier(def) && CONTROL.test(value)) throw invalidValue(`"${where}" contains a control character, which an identifier may not.`)
  // .length counts UTF-16 units; the limit is in characters, counted only when it could matter.
  if (def.type !== 'binary' && value.length > limits.maxStringLength && [...value].length > limits.maxStringLength)
    throw invalidValue(`"${where}" is longer than ${limits.maxStringLength} characters, the most this service accepts.`)
  return value
}

/**
 * One value of `def`'s type. Strict on JSON types (a number is not a string), with the one leniency
 * IdPs rely on: Entra's "True"/"False" strings for booleans. Unknown sub-attributes are ignored, as
 * unknown attributes are (see parseResource).
 */
function coerceSingle(def: AttributeDefinition, value: unknown, where: string, limits: ValueLimits): unknown {
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value === 'string') return checkText(def, value, where, limits)
      throw invalidValue(`"${where}" must be a string, not ${describe(value)}.`)
    case 'dateTime':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return value
      throw invalidValue(`"${where}" must be an xsd:dateTime string such as 2024-05-01T12:00:00Z.`)
    case 'boolean': {
      if (typeof value === 'boolean') return value
      const b = typeof value === 'string' ? BOOLEAN_STRINGS[value.trim().toLowerCase()] : undefined
      if (b === undefined) throw invalidValue(`"${where}" must be a boolean (true or false), not ${describe(value)}.`)
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
      if (!isObject(value)) throw invalidValue(`"${where}" must be an object, not ${describe(value)}.`)
      const out: ScimObject = {}
      for (const [key, subValue] of Object.entries(value)) {
        const sub = findIn(def.subAttributes, key)
        if (!sub || subValue === null || sub.mutability === 'readOnly') continue
        out[sub.name] = coerceSingle(sub, subValue, `${where}.${sub.name}`, limits)
      }
      return out
    }
  }
}

/**
 * A value for attribute `def`: an array of coerced values if multi-valued, else one value. A bare
 * string for a single-valued complex attribute with a `value` sub-attribute is that value: Entra's
 * default mapping and OneLogin send the enterprise `manager` as the manager's id alone.
 */
export function coerceValue(def: AttributeDefinition, value: unknown, where: string, limits: ValueLimits = DEFAULT_VALUE_LIMITS): unknown {
  if (def.multiValued) {
    const items = Array.isArray(value) ? value : [value]
    if (!def.rows && items.length > limits.maxValues)
      throw invalidValue(`"${where}" has ${items.length} values; at most ${limits.maxValues} are accepted.`)
    const out = items.filter((v) => v !== null).map((v) => coerceSingle(def, v, where, limits))
    checkSinglePrimary(def, out, where)
    return out
  }
  if (Array.isArray(value)) throw invalidValue(`"${where}" takes a single value, not an array.`)
  if (def.type === 'complex' && typeof value === 'string' && findIn(def.subAttributes, 'value'))
    return coerceSingle(def, { value }, where, limits)
  return coerceSingle(def, value, where, limits)
}

/** RFC 7643 §2.5: unassigned, null and empty are the same; an empty array or object is not kept. */
export const isEmptyValue = (v: unknown) =>
  v === null || v === undefined || (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0)

function checkSinglePrimary(def: AttributeDefinition, items: unknown[], where: string) {
  if (!findIn(def.subAttributes, 'primary')) return
  if (items.filter((i) => isObject(i) && i.primary === true).length > 1)
    throw invalidValue(`At most one value of "${where}" may have "primary": true.`)
}

/**
 * A partial document applied to a stored one, as Graph's delta items are (RFC-free: the source's
 * contract): a key absent from `patch` is unchanged, null clears it, an object merges into the
 * object it names (`name`, an extension), anything else replaces. Composing two patches (`keepNulls`)
 * keeps their nulls, so the later one's clears survive until applied.
 */
export function mergeDocument(current: ScimObject, patch: ScimObject, keepNulls = false): ScimObject {
  const out: ScimObject = { ...current }
  for (const [k, v] of Object.entries(patch)) {
    if (v === null && !keepNulls) delete out[k]
    else if (isObject(v)) {
      const merged = mergeDocument(isObject(out[k]) ? (out[k] as ScimObject) : {}, v, keepNulls)
      if (Object.keys(merged).length > 0) out[k] = merged
      else delete out[k]
    } else out[k] = v
  }
  return out
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

function assign(doc: ScimObject, path: ResolvedPath, value: unknown, limits: ValueLimits) {
  const { attribute, subAttribute } = path
  const where = pathText(path)
  const target = subAttribute ?? attribute
  if (value === null || attribute.mutability === 'readOnly' || target.mutability === 'readOnly') return
  const coerced = coerceValue(target, value, where, limits)
  if (attribute.mutability === 'writeOnly' || target.mutability === 'writeOnly') return // validated, never kept
  if (isEmptyValue(coerced) && !target.rows) return
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

function assignExtension(doc: ScimObject, rt: ResourceTypeDefinition, ext: SchemaDefinition, value: unknown, limits: ValueLimits) {
  if (value === null) return
  if (!isObject(value)) throw invalidValue(`"${ext.id}" must be an object of ${ext.name} attributes.`)
  for (const [key, v] of Object.entries(value)) {
    // Unknown attributes of a known extension are ignored, like unknown core attributes.
    const path = resolvePath(rt, `${ext.id}:${key}`)
    if (path) assign(doc, path, v, limits)
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Some clients nest core attributes under the core schema's URN, the way extensions are sent. They
 * are taken as if given at the top level; the same attribute given both ways with different values
 * is refused rather than one silently winning.
 */
function liftCore(rt: ResourceTypeDefinition, input: ScimObject): ScimObject {
  const urn = rt.schema.id.toLowerCase()
  const key = Object.keys(input).find((k) => k.toLowerCase() === urn)
  if (key === undefined) return input
  const nested = input[key]
  const out: ScimObject = { ...input }
  delete out[key]
  if (nested === null) return out
  if (!isObject(nested)) throw invalidValue(`"${rt.schema.id}" must be an object of ${rt.name} attributes.`)
  const topKeys = new Map(Object.keys(out).map((k) => [k.toLowerCase(), k]))
  for (const [k, v] of Object.entries(nested)) {
    const top = topKeys.get(k.toLowerCase())
    if (top === undefined) out[k] = v
    else if (!same(out[top], v))
      throw invalidValue(`"${k}" is given both at the top level and under "${rt.schema.id}", with different values; send it once.`)
  }
  return out
}

/**
 * Validates a client's resource representation (POST/PUT body) against the registry and returns
 * its document. Attribute names match case-insensitively. Attributes the schema does not define are
 * ignored, as IdPs expect (Entra sends whatever its attribute mapping holds), and never stored;
 * a key naming a schema extension this server does not support is refused, since the client then
 * expects data to be kept that would be lost.
 */
export function parseResource(rt: ResourceTypeDefinition, input: unknown, limits: ValueLimits = DEFAULT_VALUE_LIMITS): ScimObject {
  if (!isObject(input)) throw invalidSyntax(`The request body must be a JSON object representing a ${rt.name}.`)
  const doc: ScimObject = {}
  for (const [key, value] of Object.entries(liftCore(rt, input))) {
    if (key.toLowerCase() === 'schemas') {
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
        throw invalidSyntax('"schemas" must be an array of schema URIs.')
      continue
    }
    const ext = findExtension(rt, key)
    if (ext) {
      assignExtension(doc, rt, ext, value, limits)
      continue
    }
    const path = resolvePath(rt, key)
    if (path) assign(doc, path, value, limits)
    else if (key.toLowerCase().startsWith('urn:') && !schemasOf(rt).some((s) => key.toLowerCase().startsWith(s.id.toLowerCase() + ':')))
      throw invalidValue(
        `"${key}" is not a schema extension of a ${rt.name} here. Supported schemas: ${schemasOf(rt)
          .map((s) => s.id)
          .join(', ')}.`
      )
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
