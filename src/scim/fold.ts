import { isObject, type ScimObject } from './resource'
import type { AttributeDefinition } from './schemas/attribute'
import { findIn, type ResourceTypeDefinition } from './schemas/registry'

/**
 * The one case folding of the service (RFC 7643 caseExact=false): NFC, then JavaScript's Unicode
 * lower-casing. SQLite's lower() folds ASCII only, so SQL never folds: it compares against values
 * folded here, in `*_key` columns and in the folded copy of each document (foldDocument).
 */
export const foldKey = (s: string) => s.normalize('NFC').toLowerCase()

const foldValue = (def: AttributeDefinition, value: unknown): unknown => {
  if (Array.isArray(value)) return value.map((v) => foldValue(def, v))
  if (def.type === 'string' && !def.caseExact && typeof value === 'string') return foldKey(value)
  if (def.type === 'complex' && isObject(value)) return foldAttributes(def.subAttributes ?? [], value)
  return value
}

function foldAttributes(defs: AttributeDefinition[], obj: ScimObject): ScimObject {
  const out: ScimObject = {}
  for (const [key, value] of Object.entries(obj)) {
    const def = findIn(defs, key)
    out[key] = def ? foldValue(def, value) : value
  }
  return out
}

/** `doc` with every case-insensitive string folded: what SQL filters compare against. */
export function foldDocument(rt: ResourceTypeDefinition, doc: ScimObject): ScimObject {
  const out = foldAttributes(rt.schema.attributes, doc)
  for (const { schema } of rt.extensions)
    if (isObject(doc[schema.id])) out[schema.id] = foldAttributes(schema.attributes, doc[schema.id] as ScimObject)
  return out
}
