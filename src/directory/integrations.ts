import { and, asc, eq, isNull, ne, sql } from 'drizzle-orm'
import { conflict, notFound, uniqueness } from '../scim/errors'
import { foldKey, isUniqueViolation, nowIso, type Db } from './db'
import { integrations, type IntegrationRow } from './schema'

/*
 * Integrations for the admin API: the only code that creates, renames tokens of, or deletes them.
 * Token hashes (never tokens) are kept here so KV entries can be removed on rotation and deletion.
 */

export type IntegrationKind = IntegrationRow['kind']

export interface NewIntegration {
  /** Chosen by the caller, since sealed secrets are bound to it. */
  id: string
  kind: IntegrationKind
  name: string
  tokenId: string
  tokenHash: string
  /** Native imports: non-secret settings, and the sealed secrets. */
  config?: Record<string, unknown>
  sealedSecrets?: string
}

export async function createIntegration(db: Db, input: NewIntegration): Promise<IntegrationRow> {
  const row: IntegrationRow = {
    id: input.id,
    kind: input.kind,
    name: input.name,
    nameKey: foldKey(input.name.trim()),
    currentTokenId: input.tokenId,
    currentTokenHash: input.tokenHash,
    createdAt: nowIso(),
    lastActivityAt: null,
    activeUsers: 0,
    archivedUsers: 0,
    groupCount: 0,
    config: input.config ? JSON.stringify(input.config) : null,
    sealedSecrets: input.sealedSecrets ?? null,
    usersDeltaLink: null,
    groupsDeltaLink: null,
    hiddenUsers: 0,
    deletingAt: null,
    deletion: null,
    safeguardPercent: 10,
    safeguardMaxUsers: 500,
    holdNextRemovals: false,
    consentStartHash: null,
    userNameFrom: 'userPrincipalName',
    scopeGroups: null,
    pausedAt: null,
  }
  try {
    await db.batch([db.insert(integrations).values(row)])
  } catch (e) {
    if (isUniqueViolation(e))
      throw uniqueness(`An integration named "${input.name}" already exists (names are compared case-insensitively).`)
    throw e
  }
  return row
}

export async function listIntegrations(db: Db): Promise<IntegrationRow[]> {
  const [rows] = await db.batch([db.select().from(integrations).orderBy(asc(integrations.createdAt), asc(integrations.id))])
  return rows
}

export async function getIntegration(db: Db, id: string): Promise<IntegrationRow> {
  const [[row]] = await db.batch([db.select().from(integrations).where(eq(integrations.id, id))])
  if (!row) throw notFound(`No integration with id "${id}".`)
  return row
}

/** Refuses a change to an integration that is being deleted (its rows are going). */
export function notDeleting(row: IntegrationRow): IntegrationRow {
  if (row.deletingAt)
    throw conflict(
      `Integration "${row.name}" is being deleted (since ${row.deletingAt}); GET it for the progress. It cannot change any more.`
    )
  return row
}

/** Makes `tokenId` the only valid token of the integration; returns the previous token's hash. */
export async function replaceToken(db: Db, id: string, tokenId: string, tokenHash: string): Promise<string | null> {
  const previous = notDeleting(await getIntegration(db, id))
  const [updated] = await db.batch([
    db
      .update(integrations)
      .set({ currentTokenId: tokenId, currentTokenHash: tokenHash })
      .where(and(eq(integrations.id, id), isNull(integrations.deletingAt)))
      .returning({ id: integrations.id }),
  ])
  if (updated.length === 0) throw notFound(`No integration with id "${id}".`)
  return previous.currentTokenHash
}

/** Renames an integration (names stay unique, compared case-insensitively), or changes its safeguard, userName source or scope. */
export async function updateIntegration(
  db: Db,
  id: string,
  change: {
    name?: string
    safeguardPercent?: number
    safeguardMaxUsers?: number
    userNameFrom?: IntegrationRow['userNameFrom']
    /** Source group ids (src/sync/scope.ts), or null: everyone. */
    scopeGroups?: string[] | null
    /** Pause (the time) or resume (null) the schedule; pausing again keeps the first time. */
    pausedAt?: string | null
    /** New credentials: the source settings (JSON) and the sealed secrets. */
    config?: string
    sealedSecrets?: string
  }
): Promise<IntegrationRow> {
  const { name, userNameFrom, scopeGroups, pausedAt, ...settings } = change
  const scope = scopeGroups === undefined ? undefined : scopeGroups === null ? null : JSON.stringify(scopeGroups)
  const same = sql.join(
    [
      userNameFrom === undefined ? sql`1` : sql`${integrations.userNameFrom} = ${userNameFrom}`,
      scope === undefined ? sql`1` : sql`${integrations.scopeGroups} IS ${scope}`,
    ],
    sql` AND `
  )
  let updated: IntegrationRow[]
  try {
    ;[updated] = await db.batch([
      db
        .update(integrations)
        .set({
          ...settings,
          ...(name !== undefined ? { name, nameKey: foldKey(name.trim()) } : {}),
          ...(userNameFrom !== undefined ? { userNameFrom } : {}),
          ...(scope !== undefined ? { scopeGroups: scope } : {}),
          ...(pausedAt !== undefined ? { pausedAt: pausedAt === null ? null : sql`coalesce(${integrations.pausedAt}, ${pausedAt})` } : {}),
          // Another userName source or scope: the next run lists everyone again (a delta would
          // name only who changed at the source), so every user gets the new userName, and a run
          // that imports everyone again finds who the scope kept out. (A scoped run never uses delta.)
          ...(userNameFrom !== undefined || scope !== undefined
            ? {
                usersDeltaLink: sql`CASE WHEN ${same} THEN ${integrations.usersDeltaLink} END`,
                groupsDeltaLink: sql`CASE WHEN ${scope === undefined ? sql`1` : sql`${integrations.scopeGroups} IS ${scope}`} THEN ${integrations.groupsDeltaLink} END`,
              }
            : {}),
        })
        .where(and(eq(integrations.id, id), isNull(integrations.deletingAt)))
        .returning(),
    ])
  } catch (e) {
    if (isUniqueViolation(e)) throw uniqueness(`An integration named "${name}" already exists (names are compared case-insensitively).`)
    throw e
  }
  if (updated.length === 0) notDeleting(await getIntegration(db, id))
  return updated[0]!
}

/** Records that the integration's token was used; called off the request path. */
export async function touchActivity(db: Db, id: string, at: string) {
  await db.batch([
    db
      .update(integrations)
      .set({ lastActivityAt: sql`${at}` })
      .where(eq(integrations.id, id)),
  ])
}

/**
 * Connects (or re-connects) a native integration to its source. Its users and groups stay; a
 * different tenant or app starts from a full listing, whose sweep then archives the users the new
 * source does not have. After a move to another tenant that sweep waits for an admin's approval
 * whatever its size (holdNextRemovals, see src/sync/safeguard.ts).
 */
export async function connectIntegration(
  db: Db,
  id: string,
  config: Record<string, unknown>,
  sealedSecrets: string | null,
  change: { restartListing: boolean; tenantChanged?: boolean }
) {
  await db.batch([
    db
      .update(integrations)
      .set({
        config: JSON.stringify(config),
        sealedSecrets,
        ...(change.restartListing ? { usersDeltaLink: null, groupsDeltaLink: null } : {}),
        ...(change.tenantChanged ? { holdNextRemovals: true } : {}),
      })
      // A consent that comes back after the integration's deletion began connects nothing.
      .where(and(eq(integrations.id, id), isNull(integrations.deletingAt))),
  ])
}

/** Makes `hash` the integration's only consent start link that may still be opened. */
export async function setConsentStart(db: Db, id: string, hash: string) {
  await db.batch([
    db
      .update(integrations)
      .set({ consentStartHash: hash })
      .where(and(eq(integrations.id, id), isNull(integrations.deletingAt))),
  ])
}

/**
 * Opens a consent start link once: true for the first caller with the current link's hash, false
 * for a replay, a link replaced by a newer one, or an integration being deleted.
 */
export async function takeConsentStart(db: Db, id: string, hash: string): Promise<boolean> {
  const [taken] = await db.batch([
    db
      .update(integrations)
      .set({ consentStartHash: null })
      .where(and(eq(integrations.id, id), eq(integrations.consentStartHash, hash), isNull(integrations.deletingAt)))
      .returning({ id: integrations.id }),
  ])
  return taken.length === 1
}

/** Every native (Entra, Google) integration: what the cron considers. */
export async function nativeIntegrations(db: Db): Promise<IntegrationRow[]> {
  const [rows] = await db.batch([
    db
      .select()
      .from(integrations)
      .where(and(ne(integrations.kind, 'scim'), isNull(integrations.deletingAt))),
  ])
  return rows
}

/**
 * Which integration's current token has this hash, through D1's index on it: the fallback when KV
 * does not have the token yet (see src/auth/token-store.ts).
 */
export async function integrationByTokenHash(db: Db, hash: string): Promise<{ integrationId: string; tokenId: string } | undefined> {
  const [[row]] = await db.batch([
    db
      .select({ integrationId: integrations.id, tokenId: integrations.currentTokenId })
      .from(integrations)
      .where(eq(integrations.currentTokenHash, hash)),
  ])
  return row?.tokenId ? { integrationId: row.integrationId, tokenId: row.tokenId } : undefined
}
