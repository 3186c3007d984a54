import * as z from 'zod'
import { DEFAULT_VALUE_LIMITS, PATCH_OP_SCHEMA, type ValueLimits } from './constants'
import { invalidPath, invalidSyntax, invalidValue, mutability, noTarget, parseWith, ScimError } from './errors'
import type { Filter } from './filter/ast'
import { elementScope, evaluate } from './filter/evaluate'
import { parseFilter } from './filter/parse'
import { coerceValue, containerFor, isObject, parseResource, type ScimObject } from './resource'
import type { AttributeDefinition, SchemaDefinition } from './schemas/attribute'
import { findExtension, pathText, resolvePath, type ResolvedPath, type ResourceTypeDefinition } from './schemas/registry'

/*
 * RFC 7644 §3.5.2 PATCH, pure: applies operations to a copy of a resource document, all or nothing.
 * It accepts what real IdPs send (see docs/conformance.md): op names in any case, Entra's string
 * booleans, path-less values with dotted or URN-qualified keys, Okta's rename that repeats `id`,
 * member removal with a value array, and filtered paths that match nothing (which create the value).
 */

export type PatchOpName = 'add' | 'replace' | 'remove'

const operationSchema = z.object({
  op: z
    .string({ error: 'each operation needs an "op": add, replace or remove.' })
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(['add', 'replace', 'remove'], { error: 'must be add, replace or remove.' })),
  path: z.string({ error: 'must be a string.' }).optional(),
  value: z.unknown().optional(),
})

const patchRequestSchema = z.object({
  schemas: z.array(z.string()).optional(),
  Operations: z.array(z.unknown(), { error: 'a PatchOp needs an "Operations" array.' }),
})

export type PatchOperation = z.infer<typeof operationSchema>

/** Parses a PatchOp message body (RFC 7644 §3.5.2), tolerating key case ("operations", "OP", "Value"). */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('The request body must be a PatchOp JSON object.')
  const req = parseWith(patchRequestSchema, lowerKeys(body, { operations: 'Operations', schemas: 'schemas' }), invalidSyntax)
  if (req.schemas && !req.schemas.includes(PATCH_OP_SCHEMA)) throw invalidSyntax(`A PatchOp's "schemas" must contain "${PATCH_OP_SCHEMA}".`)
  return req.Operations.map((raw, i) =>
    parseWith(
      operationSchema,
      isObject(raw) ? lowerKeys(raw, { op: 'op', path: 'path', value: 'value' }) : raw,
      invalidSyntax,
      `Operations[${i}]`
    )
  )
}

function lowerKeys(obj: ScimObject, names: Record<string, string>): ScimObject {
  const out: ScimObject = {}
  for (const [k, v] of Object.entries(obj)) out[names[k.toLowerCase()] ?? k] = v
  return out
}

/** A change to a multi-valued attribute kept outside the document (a group's members), in order. */
export type CollectionChange = { kind: 'add'; values: ScimObject[] } | { kind: 'remove'; ids: string[] } | { kind: 'clear' }

export interface PatchOptions {
  rt: ResourceTypeDefinition
  /** The resource's id: Okta repeats it in path-less replaces, which is not an attempt to change it. */
  id: string
  /** Attributes whose values are not in the document; operations on them become CollectionChanges. */
  external?: string[]
  limits?: ValueLimits
}

export interface PatchResult {
  doc: ScimObject
  changes: CollectionChange[]
  /** False when the operations left the document as it was and changed no collection. */
  modified: boolean
}

interface Target {
  path: ResolvedPath
  filter?: Filter
  /** Sub-attribute after a value filter: `emails[type eq "work"].value`. */
  sub?: AttributeDefinition
}

/** A path that is an extension's schema URN addresses the whole extension object. */
type ParsedTarget = Target | { extension: SchemaDefinition }

function parseTarget(rt: ResourceTypeDefinition, text: string): ParsedTarget {
  const extension = findExtension(rt, text.trim())
  if (extension) return { extension }
  const open = text.indexOf('[')
  if (open < 0) {
    const path = resolvePath(rt, text.trim())
    if (!path) throw invalidPath(`"${text}" is not an attribute of a ${rt.name}.`)
    return { path }
  }
  const close = text.lastIndexOf(']')
  if (close < open) throw invalidPath(`"${text}" has an unclosed "[".`)
  const path = resolvePath(rt, text.slice(0, open).trim())
  if (!path || path.subAttribute || !path.attribute.multiValued || path.attribute.type !== 'complex')
    throw invalidPath(`"${text}": a value filter needs a multi-valued complex attribute before "[".`)
  let filter: Filter
  try {
    filter = parseFilter(text.slice(open + 1, close))
  } catch (e) {
    throw e instanceof ScimError ? invalidPath(`Invalid filter in path "${text}": ${e.detail}`) : e
  }
  const rest = text.slice(close + 1).trim()
  if (rest === '') return { path, filter }
  const sub = rest.startsWith('.')
    ? path.attribute.subAttributes?.find((s) => s.name.toLowerCase() === rest.slice(1).toLowerCase())
    : undefined
  if (!sub) throw invalidPath(`"${text}": "${rest}" is not a sub-attribute of ${path.attribute.name}.`)
  return { path, filter, sub }
}

/** Equality constraints of a filter made only of `sub eq literal` joined by and: a new value to create. */
function constructible(filter: Filter): ScimObject | undefined {
  if (filter.op === 'eq') return { [filter.attr]: filter.value }
  if (filter.op !== 'and') return undefined
  const left = constructible(filter.left)
  const right = constructible(filter.right)
  return left && right ? { ...left, ...right } : undefined
}

/** `members[value eq "a" or value eq "b"]` → ["a","b"]; anything else is not supported on members. */
function memberIds(filter: Filter): string[] | undefined {
  if (filter.op === 'eq' && filter.attr.toLowerCase() === 'value' && typeof filter.value === 'string') return [filter.value]
  if (filter.op !== 'or') return undefined
  const left = memberIds(filter.left)
  const right = memberIds(filter.right)
  return left && right ? [...left, ...right] : undefined
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** A value added or set as primary wins: every other value of the attribute stops being primary. */
function keepOnePrimary(list: ScimObject[], winners: Set<ScimObject>) {
  const winner = [...winners].reverse().find((w) => w.primary === true)
  if (!winner) return
  for (const item of list) if (item !== winner && item.primary === true) item.primary = false
}

/** Thrown by a document-less engine at the first operation that needs the document. */
const NEEDS_DOCUMENT = Symbol('needs the document')

class PatchEngine {
  readonly changes: CollectionChange[] = []
  constructor(
    readonly doc: ScimObject,
    readonly options: PatchOptions,
    /** Without a document: only operations on external attributes can be applied. */
    readonly documentless = false
  ) {}

  private get limits() {
    return this.options.limits ?? DEFAULT_VALUE_LIMITS
  }

  private coerce(def: AttributeDefinition, value: unknown, where: string) {
    return coerceValue(def, value, where, this.limits)
  }

  run(op: PatchOperation, index: number): void {
    try {
      if (op.path !== undefined && op.path.trim() !== '') {
        const target = parseTarget(this.options.rt, op.path)
        if (!('path' in target)) return this.applyExtension(op.op, target.extension, op.value)
        return this.apply(op.op, target, op.value, op.path)
      }
      if (op.op === 'remove') throw noTarget('A remove operation needs a "path" naming what to remove.')
      if (!isObject(op.value)) throw invalidValue('An operation without "path" needs a "value" object of attributes.')
      for (const [key, value] of Object.entries(op.value)) this.applyKey(op.op, key, value)
    } catch (e) {
      if (e instanceof ScimError) throw e.within(`Operations[${index}]: `)
      throw e
    }
  }

  /**
   * A path naming an extension's schema URN (RFC 7644 §3.10): `add` merges into the extension
   * object, `replace` replaces it whole, `remove` deletes it (and so its URN from `schemas`).
   */
  private applyExtension(op: PatchOpName, ext: SchemaDefinition, value: unknown) {
    if (this.documentless) throw NEEDS_DOCUMENT
    if (op === 'remove' || value === null) {
      delete this.doc[ext.id]
      return
    }
    if (!isObject(value)) throw invalidValue(`"${ext.id}" must be an object of ${ext.name} attributes.`)
    if (op === 'replace') delete this.doc[ext.id]
    for (const [k, v] of Object.entries(value)) this.applyKey(op, `${ext.id}:${k}`, v)
  }

  /** One key of a path-less value: `displayName`, `name.givenName`, `urn:…:User:department` or an extension object. */
  private applyKey(op: PatchOpName, key: string, value: unknown) {
    const { rt } = this.options
    if (key.toLowerCase() === 'schemas') return
    const ext = findExtension(rt, key)
    if (ext) {
      if (!isObject(value)) throw invalidValue(`"${ext.id}" must be an object of ${ext.name} attributes.`)
      for (const [k, v] of Object.entries(value)) this.applyKey(op, `${ext.id}:${k}`, v)
      return
    }
    // Core attributes nested under the core schema's URN, as some clients send them.
    if (key.toLowerCase() === rt.schema.id.toLowerCase() && isObject(value)) {
      for (const [k, v] of Object.entries(value)) this.applyKey(op, k, v)
      return
    }
    const path = resolvePath(rt, key)
    if (!path) throw invalidPath(`"${key}" is not an attribute of a ${rt.name}.`)
    this.apply(op, { path }, value, key)
  }

  private apply(op: PatchOpName, target: Target, value: unknown, text: string): void {
    const { path } = target
    const def = path.attribute
    if (def.name === 'id' && !path.extension && op !== 'remove' && value === this.options.id) return
    if (def.mutability === 'readOnly' || path.subAttribute?.mutability === 'readOnly' || target.sub?.mutability === 'readOnly')
      throw mutability(`"${text}" is read-only.`)
    if (this.options.external?.includes(def.name) && !path.extension) return this.applyExternal(op, target, value, text)
    if (this.documentless) throw NEEDS_DOCUMENT
    if (op !== 'remove' && value === undefined) throw invalidValue(`"${op}" on "${text}" needs a "value".`)
    if (op !== 'remove' && value === null) return this.apply('remove', target, undefined, text)
    if (def.mutability === 'writeOnly') {
      if (op !== 'remove') this.coerce(def, value, pathText(path)) // validated, never stored
      return
    }
    if (target.filter) return this.applyFiltered(op, target, value, text)
    const container = containerFor(this.doc, path, op !== 'remove')
    if (!container) return
    const sub = path.subAttribute
    if (sub) {
      if (def.multiValued) {
        if (op !== 'remove')
          throw invalidPath(`"${text}" is ambiguous: use a value filter such as ${def.name}[type eq "work"].${sub.name}.`)
        for (const item of (container[def.name] as ScimObject[] | undefined) ?? []) delete item[sub.name]
        return
      }
      const parent = isObject(container[def.name]) ? (container[def.name] as ScimObject) : {}
      if (op === 'remove') delete parent[sub.name]
      else parent[sub.name] = this.coerce(sub, value, pathText(path))
      if (Object.keys(parent).length > 0) container[def.name] = parent
      else delete container[def.name]
      return
    }
    if (op === 'remove') {
      if (def.multiValued && value !== undefined) {
        // Entra's default dialect: remove path=attr with the values to remove.
        const gone = (Array.isArray(value) ? value : [value]).map((v) => (isObject(v) ? v.value : v))
        const list = (container[def.name] as ScimObject[] | undefined) ?? []
        container[def.name] = list.filter((item) => !gone.some((g) => g !== undefined && same(item.value, g)))
      } else delete container[def.name]
      return
    }
    const coerced = this.coerce(def, value, pathText(path))
    if (def.multiValued) {
      const incoming = coerced as ScimObject[]
      const list = op === 'add' ? [...((container[def.name] as ScimObject[] | undefined) ?? [])] : []
      for (const item of incoming) if (!list.some((existing) => same(existing, item))) list.push(item)
      keepOnePrimary(list, new Set(incoming))
      container[def.name] = list
    } else if (def.type === 'complex' && isObject(container[def.name])) {
      // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not given are left as they were.
      container[def.name] = { ...(container[def.name] as ScimObject), ...(coerced as ScimObject) }
    } else {
      container[def.name] = coerced
    }
  }

  private applyFiltered(op: PatchOpName, target: Target, value: unknown, text: string): void {
    const { path, filter, sub } = target
    const def = path.attribute
    const container = containerFor(this.doc, path, op !== 'remove')
    const list = [...((container?.[def.name] as ScimObject[] | undefined) ?? [])]
    const scope = elementScope(def)
    const matched = list.filter((item) => evaluate(filter!, item, scope))
    if (op === 'remove') {
      if (!container) return
      if (sub) for (const item of matched) delete item[sub.name]
      container[def.name] = sub ? list : list.filter((item) => !matched.includes(item))
      return
    }
    const patch: ScimObject = sub
      ? { [sub.name]: this.coerce(sub, value, `${def.name}.${sub.name}`) }
      : (this.coerce({ ...def, multiValued: false }, value, def.name) as ScimObject)
    if (matched.length === 0) {
      const seed = constructible(filter!)
      if (!seed) throw noTarget(`No value of "${def.name}" matches "${text}".`)
      const created = this.coerce({ ...def, multiValued: false }, seed, def.name) as ScimObject
      Object.assign(created, patch)
      list.push(created)
      matched.push(created)
    } else {
      for (const item of matched) Object.assign(item, patch)
    }
    keepOnePrimary(list, new Set(matched))
    container![def.name] = list
  }

  private applyExternal(op: PatchOpName, target: Target, value: unknown, text: string): void {
    const def = target.path.attribute
    const sub = target.path.subAttribute ?? target.sub
    if (sub?.mutability === 'immutable')
      throw mutability(`"${text}": ${def.name}.${sub.name} is immutable; remove the member and add it again.`)
    if (sub) throw invalidPath(`"${text}": sub-attributes of ${def.name} cannot be patched.`)
    if (target.filter) {
      const ids = memberIds(target.filter)
      if (op !== 'remove' || !ids) throw invalidPath(`"${text}": only remove with ${def.name}[value eq "…"] is supported.`)
      this.changes.push({ kind: 'remove', ids })
      return
    }
    if (op === 'remove') {
      if (value === undefined || value === null) this.changes.push({ kind: 'clear' })
      else this.changes.push({ kind: 'remove', ids: this.values(def, value).map((v) => v.value as string) })
      return
    }
    if (op === 'replace') this.changes.push({ kind: 'clear' })
    if (value !== null && value !== undefined) this.changes.push({ kind: 'add', values: this.values(def, value) })
  }

  private values(def: AttributeDefinition, value: unknown): ScimObject[] {
    const values = this.coerce(def, value, def.name) as ScimObject[]
    for (const v of values)
      if (typeof v.value !== 'string' || v.value === '') throw invalidValue(`Each of "${def.name}" needs a "value" id.`)
    return values
  }
}

/** Applies PATCH operations to a copy of `doc`; throws a ScimError and changes nothing on any failure. */
export function applyPatch(doc: ScimObject, operations: PatchOperation[], options: PatchOptions): PatchResult {
  const engine = new PatchEngine(structuredClone(doc), options)
  operations.forEach((op, i) => engine.run(op, i))
  const next = parseResource(options.rt, engine.doc, options.limits)
  return { doc: next, changes: engine.changes, modified: engine.changes.length > 0 || !same(doc, next) }
}

/**
 * The collection changes of `operations` when they touch nothing but external attributes (a
 * membership PATCH): those need no document, so the stored one need not be read. Undefined when an
 * operation needs the document, or nothing would change; applyPatch then decides. Errors thrown
 * are the ones applyPatch would throw, since no operation before them needed the document.
 */
export function externalChanges(operations: PatchOperation[], options: PatchOptions): CollectionChange[] | undefined {
  const engine = new PatchEngine({}, options, true)
  try {
    operations.forEach((op, i) => engine.run(op, i))
  } catch (e) {
    if (e === NEEDS_DOCUMENT) return undefined
    throw e
  }
  return engine.changes.length > 0 ? engine.changes : undefined
}
