import { foldKey } from '../fold'
import { invalidFilter } from '../errors'
import { containerFor, isObject, type ScimObject } from '../resource'
import type { AttributeDefinition } from '../schemas/attribute'
import { findIn, resolvePath, type ResourceTypeDefinition } from '../schemas/registry'
import type { CompareOp, Filter, FilterValue } from './ast'

/** How a filter's attribute names are found: in a resource type, or among a complex attribute's sub-attributes. */
export interface FilterScope {
  lookup(attr: string): { def: AttributeDefinition; multiValued: boolean; values(obj: ScimObject): unknown[] } | undefined
}

const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v])

export function resourceScope(rt: ResourceTypeDefinition): FilterScope {
  return {
    lookup(attr) {
      const path = resolvePath(rt, attr)
      if (!path) return undefined
      const { attribute, subAttribute } = path
      return {
        def: subAttribute ?? attribute,
        multiValued: attribute.multiValued,
        values(obj) {
          const top = asList(containerFor(obj, path, false)?.[attribute.name])
          if (!subAttribute) return top
          return top.flatMap((item) => (isObject(item) ? asList(item[subAttribute.name]) : []))
        },
      }
    },
  }
}

/** The scope inside a value filter (`emails[type eq "work"]`): sub-attributes of `parent`. */
export function elementScope(parent: AttributeDefinition): FilterScope {
  return {
    lookup(attr) {
      const def = findIn(parent.subAttributes, attr)
      if (!def) return undefined
      return { def, multiValued: false, values: (obj) => asList(obj[def.name]) }
    },
  }
}

function compareStrings(op: CompareOp, actual: string, expected: string, def: AttributeDefinition): boolean {
  const a = def.caseExact ? actual : foldKey(actual)
  const e = def.caseExact ? expected : foldKey(expected)
  if (def.type === 'dateTime' && !['co', 'sw', 'ew'].includes(op)) {
    const at = Date.parse(actual)
    const et = Date.parse(expected)
    if (!Number.isNaN(at) && !Number.isNaN(et)) return compareOrdered(op, at, et)
  }
  switch (op) {
    case 'co':
      return a.includes(e)
    case 'sw':
      return a.startsWith(e)
    case 'ew':
      return a.endsWith(e)
    default:
      return compareOrdered(op, a, e)
  }
}

function compareOrdered<T extends string | number>(op: CompareOp, a: T, e: T): boolean {
  switch (op) {
    case 'eq':
      return a === e
    case 'ne':
      return a !== e
    case 'gt':
      return a > e
    case 'ge':
      return a >= e
    case 'lt':
      return a < e
    case 'le':
      return a <= e
    default:
      return false
  }
}

function compareOne(op: CompareOp, actual: unknown, expected: FilterValue, def: AttributeDefinition): boolean {
  if (typeof actual === 'string' && typeof expected === 'string') return compareStrings(op, actual, expected, def)
  if (typeof actual === 'number' && typeof expected === 'number') return compareOrdered(op, actual, expected)
  if (typeof actual === 'boolean' && typeof expected === 'boolean')
    return op === 'eq' ? actual === expected : op === 'ne' && actual !== expected
  return false
}

const present = (v: unknown) =>
  v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0) && !(isObject(v) && Object.keys(v).length === 0)

/** Whether `obj` matches `filter` (RFC 7644 §3.4.2.2), in memory. Used for PATCH value filters. */
export function evaluate(filter: Filter, obj: ScimObject, scope: FilterScope): boolean {
  switch (filter.op) {
    case 'and':
      return evaluate(filter.left, obj, scope) && evaluate(filter.right, obj, scope)
    case 'or':
      return evaluate(filter.left, obj, scope) || evaluate(filter.right, obj, scope)
    case 'not':
      return !evaluate(filter.filter, obj, scope)
    case '[]': {
      const found = lookup(scope, filter.attr)
      const inner = elementScope(found.def)
      return found.values(obj).some((el) => isObject(el) && evaluate(filter.filter, el, inner))
    }
    case 'pr':
      return lookup(scope, filter.attr).values(obj).some(present)
    default: {
      const found = lookup(scope, filter.attr)
      const values = found.values(obj)
      // `eq null` asks whether the attribute is absent, as the SQL does (IS NULL).
      if (filter.value === null) return filter.op === 'eq' ? !values.some(present) : filter.op === 'ne' && values.some(present)
      // A multi-valued attribute matches when any value does (RFC 7644 §3.4.2.2), ne included; a
      // single-valued one that is missing is "not equal" to anything.
      if (filter.op === 'ne' && !found.multiValued) return !values.some((v) => compareOne('eq', v, filter.value, found.def))
      if (filter.op === 'ne') return values.some((v) => !compareOne('eq', v, filter.value, found.def))
      return values.some((v) => compareOne(filter.op as CompareOp, v, filter.value, found.def))
    }
  }
}

function lookup(scope: FilterScope, attr: string) {
  const found = scope.lookup(attr)
  if (!found) throw invalidFilter(`Unknown attribute "${attr}" in filter.`)
  return found
}
