/**
 * RFC 7644 endpoint names as the server spells them. Clients do not always: Microsoft's own SCIM
 * test collection requests `/users`. Paths are matched case-insensitively by rewriting the first
 * segment after the SCIM base to this spelling before routing, so every `location` and `$ref` the
 * server writes keeps the canonical one.
 */
const ENDPOINTS = ['Users', 'Groups', 'Schemas', 'ResourceTypes', 'ServiceProviderConfig', 'Bulk', '.search']
const CANONICAL = new Map(ENDPOINTS.map((e) => [e.toLowerCase(), e]))

/** `seg` (any case) as the endpoint it names, or undefined if it names none. */
export const canonicalEndpoint = (seg: string) => CANONICAL.get(seg.toLowerCase())

/**
 * A path with its endpoint segments under `base` in canonical spelling: the resource collection
 * right after the base and a trailing `.search` after a collection. Anything else is left as sent
 * (ids are case-exact).
 */
export function canonicalPath(path: string, base: string): string {
  if (path.length <= base.length || !path.startsWith(base) || path[base.length] !== '/') return path
  const rest = path.slice(base.length + 1).split('/')
  const first = canonicalEndpoint(rest[0]!)
  if (first) rest[0] = first
  if (rest.length === 2 && rest[1]!.toLowerCase() === '.search') rest[1] = '.search'
  return `${base}/${rest.join('/')}`
}
