import { and, eq, isNotNull } from 'drizzle-orm'
import type { Db } from './db'
import { integrations, webhooks } from './schema'

/*
 * Every secret stored sealed (src/auth/seal.ts), for an ENCRYPTION_KEY rotation: the native
 * integrations' credentials and the webhooks' signing secrets. The tables hold one row per
 * integration or webhook, tens of rows, so the list is read whole.
 */

export interface SealedValue {
  owner: 'integration' | 'webhook'
  id: string
  sealed: string
}

export async function sealedValues(db: Db): Promise<SealedValue[]> {
  const [own, hooks] = await db.batch([
    db.select({ id: integrations.id, sealed: integrations.sealedSecrets }).from(integrations).where(isNotNull(integrations.sealedSecrets)),
    db.select({ id: webhooks.id, sealed: webhooks.sealedSecret }).from(webhooks),
  ])
  return [
    ...own.map((r) => ({ owner: 'integration' as const, id: r.id, sealed: r.sealed! })),
    ...hooks.map((r) => ({ owner: 'webhook' as const, id: r.id, sealed: r.sealed })),
  ]
}

/**
 * Replaces sealed values with their resealed form, each only if it is still the value that was
 * read: a credential changed meanwhile (a PATCH, a re-authentication) is newer and is kept.
 * Returns how many were replaced.
 */
export async function replaceSealed(db: Db, changes: { value: SealedValue; next: string }[]): Promise<number> {
  if (changes.length === 0) return 0
  const statements = changes.map(({ value, next }) =>
    value.owner === 'integration'
      ? db
          .update(integrations)
          .set({ sealedSecrets: next })
          .where(and(eq(integrations.id, value.id), eq(integrations.sealedSecrets, value.sealed)))
          .returning({ id: integrations.id })
      : db
          .update(webhooks)
          .set({ sealedSecret: next })
          .where(and(eq(webhooks.id, value.id), eq(webhooks.sealedSecret, value.sealed)))
          .returning({ id: webhooks.id })
  )
  const results = await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]])
  return results.reduce((n, rows) => n + rows.length, 0)
}
