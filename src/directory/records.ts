import { conflict } from '../scim/errors'
import type { StoredResource, Reference } from '../scim/render'
import type { ScimObject } from '../scim/resource'

// The SCIM layer defines what a stored resource and a reference are; the directory fills them.
export type { Reference, StoredResource }

export interface UserRecord extends StoredResource {
  /** The groups the user is a direct member of; undefined when not asked for. */
  groups?: Reference[]
}

export interface GroupRecord extends StoredResource {
  /** undefined when not asked for (excludedAttributes=members), so large groups stay O(1) to read. */
  members?: Reference[]
}

export interface Page<T> {
  total: number
  items: T[]
  nextCursor?: string
  previousCursor?: string
}

export const toStored = (row: { id: string; data: string; version: number; createdAt: string; updatedAt: string }): StoredResource => ({
  id: row.id,
  doc: JSON.parse(row.data) as ScimObject,
  version: row.version,
  created: row.createdAt,
  lastModified: row.updatedAt,
})

/** Groups rows of (owner, reference) into a map from owner id to its references, in row order. */
export function groupBy<T extends { owner: string }>(rows: T[], toRef: (row: T) => Reference): Map<string, Reference[]> {
  const map = new Map<string, Reference[]>()
  for (const row of rows) {
    const list = map.get(row.owner) ?? []
    list.push(toRef(row))
    map.set(row.owner, list)
  }
  return map
}

/**
 * How many times a write is tried when another writer changed the resource in between. Several
 * clients patching one user at once lose to each other in turn (npm run load: four clients on the
 * same 200 users ran out of 3 attempts 120 times in 800 PATCHes), so the loser waits a little, with
 * jitter, before it reads again.
 */
export const WRITE_ATTEMPTS = 8
const BACKOFF_MS = 4

/**
 * Optimistic concurrency: runs `attempt` (read, compute, version-guarded write) until its guard
 * holds, i.e. it returns a value, at most `attempts` times, waiting up to 4, 8, 16… ms (random)
 * between tries; then answers 409.
 */
export async function untilGuardHolds<T>(what: string, attempt: () => Promise<T | undefined>, attempts = WRITE_ATTEMPTS): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    if (i > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_MS * 2 ** Math.min(i - 2, 5)))
    const result = await attempt()
    if (result !== undefined) return result
  }
  throw conflict(`${what} kept changing while this request tried to write it; retry the request.`)
}
