import { getTableColumns, getTableName, sql, type SQL } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import { conflict, forbidden, notFound, unauthorized } from '../scim/errors'
import type { Db } from './db'
import { failedGuard, guard, guarding, type Guard } from './guards'
import { render, type Statement } from './prepared'

export type { Statement }

const readOnlyIntegration = () =>
  forbidden(
    'This integration imports its directory from Microsoft Entra ID or Google Workspace; its token reads over SCIM and cannot change users or groups.'
  )

/** Who is asking: an integration, and for SCIM callers the token id their bearer token resolved to. */
export interface Caller {
  integrationId: string
  /** Absent for admin calls, which are authenticated by the admin credential instead. */
  tokenId?: string
  /** An import's dry run: it reads as a real run would and writes nothing (write() is a no-op). */
  dryRun?: boolean
}

/** What change() did: each statement's rows, or the name of the guard that stopped the batch. */
export type Changed = { rows: Record<string, unknown>[][]; failed?: undefined } | { failed: string; rows?: undefined }

/** The guard name for the caller check that change() adds to a batch. */
const CALLER = 'caller'
const live = sql`id = ${sql.placeholder('integrationId')} AND deleting_at IS NULL`
const integrationLive = guard<'integrationId'>(CALLER, sql`EXISTS (SELECT 1 FROM integrations WHERE ${live})`)
// A SCIM token writes only while it is its integration's current one, and only to a SCIM integration.
const tokenCurrent = guard<'integrationId' | 'tokenId'>(
  CALLER,
  sql`EXISTS (SELECT 1 FROM integrations WHERE ${live} AND current_token_id = ${sql.placeholder('tokenId')} AND kind = 'scim')`
)

export type Counters = { activeUsers: number; archivedUsers: number; hiddenUsers: number; groupCount: number }

/*
 * Reads are `sql` templates and writes are drizzle builders; both run here as raw D1 batches. Drizzle's
 * select builder spends ~75 µs generating SQL for a full row, which on a warm isolate is a fifth of a
 * lookup; a template with the column list below costs ~4 µs (see `npm run bench`).
 */

/** `"users"."user_name" AS "userName", …`: a table's columns under their TypeScript names, built once. */
export function columnList(table: SQLiteTable, alias = getTableName(table)): SQL {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => `"${alias}"."${column.name}" AS "${key}"`)
  return sql.raw(columns.join(', '))
}

function prepare(d1: D1Database, statement: Statement): D1PreparedStatement {
  const query = render(statement)
  return d1.prepare(query.sql).bind(...query.params)
}

/** Reads outside an integration's session (the application API): one D1 batch, each statement's rows. */
export async function readBatch<T = Record<string, unknown>>(d1: D1Database, ...statements: Statement[]): Promise<T[][]> {
  const results = await d1.batch(statements.map((s) => prepare(d1, s)))
  return results.map((r) => r.results as T[])
}

/**
 * The directory as one caller sees it. Its first read also reads the integration's row, which makes
 * D1 the authoritative token check (a rotated or deleted integration's token fails here even where KV
 * still resolves it) without a round trip of its own.
 */
export class DirectorySession {
  private verified = false
  /** Set by the first read: native integrations (entra, google) are written only by their import. */
  private readOnly = false
  counters?: Counters

  constructor(
    /** The (metered) D1 binding statements run on. */
    readonly d1: D1Database,
    /** Drizzle, used here only to build write statements. */
    readonly db: Db,
    readonly caller: Caller,
    /** The request asks to change something (POST, PUT, PATCH, DELETE other than searches). */
    readonly changes = false
  ) {}

  get integrationId() {
    return this.caller.integrationId
  }

  /** Runs read statements as one D1 batch after the caller check; returns each statement's rows. */
  async read<T = Record<string, unknown>>(...statements: Statement[]): Promise<T[][]> {
    const check = sql`SELECT current_token_id AS tokenId, kind, active_users AS activeUsers, archived_users AS archivedUsers,
      hidden_users AS hiddenUsers, group_count AS groupCount, deleting_at AS deletingAt FROM integrations WHERE id = ${this.caller.integrationId}`
    const results = await this.d1.batch([check, ...statements].map((s) => prepare(this.d1, s)))
    const row = results[0]!.results[0] as (Counters & { tokenId: string | null; kind: string; deletingAt: string | null }) | undefined
    const scim = this.caller.tokenId !== undefined
    if (!row && !scim) throw notFound(`No integration with id "${this.caller.integrationId}".`)
    if (!row || (scim && row.tokenId !== this.caller.tokenId))
      throw unauthorized('The bearer token is no longer valid: it was rotated or its integration was deleted.')
    // Its import (the only other caller) stops here: nothing may be written to a deleting integration.
    if (row.deletingAt) throw conflict(`Integration "${this.caller.integrationId}" is being deleted; nothing can change in it any more.`)
    this.verified = true
    this.readOnly = scim && row.kind !== 'scim'
    // Refused whether or not it would change anything: a no-op PATCH is still not this token's to send.
    if (this.readOnly && this.changes) throw readOnlyIntegration()
    this.counters = {
      activeUsers: row.activeUsers,
      archivedUsers: row.archivedUsers,
      hiddenUsers: row.hiddenUsers,
      groupCount: row.groupCount,
    }
    return results.slice(1).map((r) => r.results as T[])
  }

  /** The caller check of read(), as a guard a write batch can carry. */
  private callerGuard(): Guard {
    const { integrationId, tokenId } = this.caller
    return tokenId !== undefined ? tokenCurrent({ integrationId, tokenId }) : integrationLive({ integrationId })
  }

  /**
   * Writes in one round trip, with no read before them: the caller check (unless a read in this
   * request made it already) and `guards` lead the batch and abort it, writing nothing, when they
   * do not hold. A failed caller check is answered as read() answers it (401, 403 or 409); another
   * failed guard is reported to the caller by name, for it to read and decide.
   */
  async change(guards: Guard[], ...statements: Statement[]): Promise<Changed> {
    if (this.readOnly) throw readOnlyIntegration()
    if (this.caller.dryRun) throw new Error('DirectorySession.change in a dry run: imports write through write()')
    const leading = [...(this.verified ? [] : [this.callerGuard()]), ...guards]
    try {
      const first = leading.length > 0 ? [guarding(leading)] : []
      const results = await this.d1.batch([...first, ...statements].map((s) => prepare(this.d1, s)))
      this.verified = true
      return { rows: results.slice(first.length).map((r) => r.results as Record<string, unknown>[]) }
    } catch (e) {
      const failed = failedGuard(e)
      if (failed === undefined) throw e
      if (failed !== CALLER) return { failed }
      // Throws the precise refusal; if the caller checks out by now, its integration changed in between.
      await this.read()
      throw conflict('The integration changed while this request was written; retry it.')
    }
  }

  /**
   * Runs writes as one D1 batch: atomic, since D1 has no interactive transactions. Only after a read
   * has verified the caller, so no write can happen on behalf of a revoked token. Returns each
   * statement's rows (its RETURNING clause, if any).
   */
  async write(...statements: Statement[]): Promise<Record<string, unknown>[][]> {
    if (statements.length === 0) return []
    if (!this.verified) throw new Error('DirectorySession.write before the caller was verified by a read')
    if (this.readOnly) throw readOnlyIntegration()
    if (this.caller.dryRun) return statements.map(() => [])
    const results = await this.d1.batch(statements.map((s) => prepare(this.d1, s)))
    return results.map((r) => r.results as Record<string, unknown>[])
  }
}
