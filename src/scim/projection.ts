import { isObject, type ScimObject } from './resource'
import { resolvePath, type ResolvedPath, type ResourceTypeDefinition } from './schemas/registry'

/** `attributes` / `excludedAttributes` (RFC 7644 §3.9), resolved against the registry. */
export interface Projection {
  attributes?: ResolvedPath[]
  excludedAttributes?: ResolvedPath[]
}

/** Parses the comma-separated lists; names the schema does not know are ignored (they select nothing). */
export function parseProjection(
  rt: ResourceTypeDefinition,
  attributes: string | undefined,
  excludedAttributes: string | undefined
): Projection {
  const list = (text: string | undefined) =>
    text === undefined
      ? undefined
      : text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => resolvePath(rt, s))
          .filter((p): p is ResolvedPath => p !== undefined)
  const attrs = list(attributes)
  return attrs && attrs.length > 0 ? { attributes: attrs } : { excludedAttributes: list(excludedAttributes) ?? [] }
}

const key = (p: ResolvedPath) => (p.extension ? p.schema.id : '') + '|' + p.attribute.name

/** Whether the projection returns top-level attribute `name` of the core schema (e.g. members, groups). */
export function includesAttribute(projection: Projection, name: string): boolean {
  if (projection.attributes) return projection.attributes.some((p) => !p.extension && p.attribute.name === name)
  return !projection.excludedAttributes?.some((p) => !p.extension && p.attribute.name === name && !p.subAttribute)
}

/**
 * Trims a full resource to what the client asked for. `returned: always` attributes (id, schemas)
 * stay; `returned: request` ones appear only when named. Sub-attribute names select or drop just that part.
 */
export function project(rt: ResourceTypeDefinition, resource: ScimObject, projection: Projection): ScimObject {
  const out: ScimObject = {}
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'schemas' || k === 'id') {
      out[k] = v
      continue
    }
    const ext = rt.extensions.find((e) => e.schema.id === k)
    if (ext) {
      const inner = projectLevel(rt, v as ScimObject, projection, (name) => resolvePath(rt, `${ext.schema.id}:${name}`))
      if (Object.keys(inner).length > 0) out[k] = inner
      continue
    }
    Object.assign(
      out,
      projectLevel(rt, { [k]: v }, projection, (name) => resolvePath(rt, name))
    )
  }
  return out
}

function projectLevel(
  rt: ResourceTypeDefinition,
  obj: ScimObject,
  projection: Projection,
  resolve: (name: string) => ResolvedPath | undefined
): ScimObject {
  const out: ScimObject = {}
  for (const [name, value] of Object.entries(obj)) {
    const path = resolve(name)
    if (!path) continue
    const def = path.attribute
    if (def.returned === 'never') continue
    const selectors = (projection.attributes ?? projection.excludedAttributes ?? []).filter((p) => key(p) === key(path))
    const whole = selectors.some((p) => !p.subAttribute)
    const subs = new Set(selectors.filter((p) => p.subAttribute).map((p) => p.subAttribute!.name))
    if (def.returned === 'always') {
      out[name] = value
    } else if (projection.attributes) {
      if (whole) out[name] = value
      else if (subs.size > 0) out[name] = pick(value, (k) => subs.has(k))
    } else {
      if (whole || def.returned === 'request') continue
      out[name] = subs.size > 0 ? pick(value, (k) => !subs.has(k)) : value
    }
  }
  return out
}

function pick(value: unknown, keep: (k: string) => boolean): unknown {
  const one = (v: unknown) => (isObject(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => keep(k))) : v)
  return Array.isArray(value) ? value.map(one) : one(value)
}
