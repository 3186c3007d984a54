import type { StoredResource } from './records'

/*
 * What this isolate last read or wrote of each user, so that a write following a lookup (Entra's
 * filter-then-PATCH, Okta's GET-then-PUT) computes its change without reading the user again: one
 * round trip instead of two. A copy is only a guess. The write it feeds is guarded by the version
 * it was read at (src/directory/users.ts), so a copy that another writer or isolate made stale
 * costs one aborted batch and then the read it would have cost anyway; it is never written back.
 * Bounded in entries and in the size of each document, so memory stays a few MB at most.
 */
const LIMIT = 2000
const MAX_DOCUMENT_BYTES = 8192
const users = new Map<string, StoredResource>()

const key = (integrationId: string, id: string) => `${integrationId}/${id}`

/** `bytes`: the size of the stored document, so a large one is not kept. */
export function rememberUser(integrationId: string, user: StoredResource, bytes: number) {
  const k = key(integrationId, user.id)
  users.delete(k)
  if (bytes > MAX_DOCUMENT_BYTES) return
  // A Map iterates in insertion order: the first key is the least recently remembered.
  if (users.size >= LIMIT) users.delete(users.keys().next().value!)
  users.set(k, user)
}

export const recalledUser = (integrationId: string, id: string) => users.get(key(integrationId, id))

export const forgetUser = (integrationId: string, id: string) => users.delete(key(integrationId, id))
