import { eq } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { notFound, unauthorized } from '../scim/errors'
import type { Db } from './db'
import { integrations } from './schema'

/** Who is asking: an integration, and for SCIM callers the token id their bearer token resolved to. */
export interface Caller {
  integrationId: string
  /** Absent for admin calls, which are authenticated by the admin credential instead. */
  tokenId?: string
}

export type Counters = { activeUsers: number; archivedUsers: number; groupCount: number }

/**
 * The directory as one caller sees it. Its first batch also reads the integration's row, which
 * makes D1 the authoritative token check (a rotated or deleted integration's token fails here even
 * where KV still resolves it) without a round trip of its own.
 */
export class DirectorySession {
  private verified = false
  counters?: Counters

  constructor(
    readonly db: Db,
    readonly caller: Caller
  ) {}

  get integrationId() {
    return this.caller.integrationId
  }

  /** Runs statements as one D1 batch (one transaction), after the caller check that makes up the first statement. */
  async read<T extends BatchItem<'sqlite'>[]>(...queries: T): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
    const check = this.db
      .select({
        tokenId: integrations.currentTokenId,
        activeUsers: integrations.activeUsers,
        archivedUsers: integrations.archivedUsers,
        groupCount: integrations.groupCount,
      })
      .from(integrations)
      .where(eq(integrations.id, this.caller.integrationId))
    const results = (await this.db.batch([check, ...queries] as unknown as [BatchItem<'sqlite'>])) as unknown[]
    const row = (results[0] as (Counters & { tokenId: string | null })[])[0]
    const scim = this.caller.tokenId !== undefined
    if (!row && !scim) throw notFound(`No integration with id "${this.caller.integrationId}".`)
    if (!row || (scim && row.tokenId !== this.caller.tokenId))
      throw unauthorized('The bearer token is no longer valid: it was rotated or its integration was deleted.')
    this.verified = true
    this.counters = { activeUsers: row.activeUsers, archivedUsers: row.archivedUsers, groupCount: row.groupCount }
    return results.slice(1) as { [K in keyof T]: Awaited<T[K]> }
  }

  /**
   * Runs writes as one D1 batch: atomic, since D1 has no interactive transactions. Only after a
   * read has verified the caller, so no write can happen on behalf of a revoked token.
   */
  async write<T extends BatchItem<'sqlite'>[]>(...queries: T): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
    if (!this.verified) throw new Error('DirectorySession.write before the caller was verified by a read')
    if (queries.length === 0) return [] as unknown as { [K in keyof T]: Awaited<T[K]> }
    return (await this.db.batch(queries as unknown as [BatchItem<'sqlite'>])) as unknown as { [K in keyof T]: Awaited<T[K]> }
  }
}
