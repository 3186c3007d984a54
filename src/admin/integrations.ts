import type { Context } from 'hono'
import * as z from 'zod'
import { deleteToken, putToken } from '../auth/token-store'
import { generateToken } from '../auth/token'
import { createIntegration, getIntegration, notDeleting, replaceToken, setConsentStart, updateIntegration } from '../directory/integrations'
import { parseDeletion } from '../directory/deletion'
import { deletionView } from './integration-deletion'
import type { IntegrationRow, SyncRunRow } from '../directory/schema'
import { internalError, invalidValue, parseWith } from '../scim/errors'
import { consentStartLink, requireConsentApp } from '../sync/consent'
import { seal } from '../auth/seal'
import { KEPT_RUNS, lastRun, lastRuns } from '../directory/runs'
import { nowIso } from '../directory/db'
import { isNative, nextScheduledRun, runView } from '../sync/runs'
import { sealContext } from '../sync/source'
import { MAX_SCOPE_GROUPS, scopeOf } from '../sync/scope'
import { privateKeyProblem } from '../sync/google/client'
import type { AppEnv } from '../http/context'
import { scimBaseUrl } from '../http/respond'

/*
 * What the admin API and the console do to integrations, in one place: both call these, so a rule
 * (a unique name, credentials sealed, a token shown once) has one implementation.
 */

export const nameSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' })
const required = (what: string) =>
  z
    .string({ error: `is required: ${what}` })
    .trim()
    .min(1, { error: `must not be empty: ${what}` })

const serviceAccountKey = z.object(
  { client_email: required('client_email from the JSON key'), private_key: required('private_key from the JSON key') },
  { error: 'must be the service account JSON key (client_email and private_key)' }
)

export const createIntegrationSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('scim'), name: nameSchema }),
    // Either the customer's own app registration (User.Read.All, GroupMember.Read.All), or nothing
    // yet: "Sign in with Azure" (GET /integrations/:id/connect) connects it afterwards.
    z.object({
      kind: z.literal('entra'),
      name: nameSchema,
      tenantId: required('the directory (tenant) id').optional(),
      clientId: required('the application (client) id').optional(),
      clientSecret: required('a client secret of the app registration').optional(),
    }),
    // A service account with domain-wide delegation, acting as a Workspace super admin.
    z.object({
      kind: z.literal('google'),
      name: nameSchema,
      // Or neither: an admin signs in with Google afterwards (GET /integrations/:id/connect).
      serviceAccount: serviceAccountKey.optional(),
      adminEmail: required('a super admin the service account acts as').email({ error: 'must be an email address' }).optional(),
      customerId: z.string().trim().min(1).optional(),
    }),
  ],
  { error: 'must be "scim", "entra" or "google"' }
)

export const syncSchema = z.object({ dryRun: z.boolean({ error: 'must be true or false' }).default(false) })

export const runPageSchema = z.object({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(KEPT_RUNS, { error: `must be at most ${KEPT_RUNS} (the runs kept per integration)` })
    .default(20),
  cursor: z.string().min(1, { error: 'must not be empty' }).max(200, { error: 'is not a cursor this API gave out' }).optional(),
})

const limit = (what: string, max: number) =>
  z
    .number({ error: `must be a number: ${what}` })
    .int({ error: `must be a whole number: ${what}` })
    .min(0, { error: `must be 0 (off) or more: ${what}` })
    .max(max, { error: `must be at most ${max}: ${what}` })

export const updateIntegrationSchema = z
  .object({
    name: nameSchema.optional(),
    // The import safeguard (src/sync/safeguard.ts); 0 turns a limit off, both at 0 turn it off.
    safeguard: z
      .object({
        percent: limit('the share of active users a run may archive or remove, in percent', 100).optional(),
        maxUsers: limit('how many users a run may archive or remove', 10_000_000).optional(),
      })
      .optional(),
    // Entra: where userName comes from (src/sync/graph/map.ts).
    userNameFrom: z.enum(['userPrincipalName', 'mail'], { error: 'must be "userPrincipalName" or "mail"' }).optional(),
    // Only the members of these source groups (src/sync/scope.ts); null or no groups: everyone.
    scope: z
      .object({
        groups: z
          .array(
            z
              .string({ error: 'must be a source group id (a string)' })
              .trim()
              .min(1, { error: 'must not be empty: a source group id' })
              .max(256, { error: 'is longer than any source group id' })
          )
          .max(MAX_SCOPE_GROUPS, { error: `may name at most ${MAX_SCOPE_GROUPS} groups` }),
      })
      .nullable()
      .optional(),
    // Pauses (true) or resumes (false) the schedule; "Sync users now" works either way.
    paused: z.boolean({ error: 'must be true (pause the schedule) or false (resume it)' }).optional(),
    // New credentials for an integration connected with them (not by consent): sealed as at creation.
    clientSecret: required('the new client secret of the Entra app').optional(),
    serviceAccount: serviceAccountKey.optional(),
  })
  .refine((v) => Object.values(v).some((value) => value !== undefined), {
    error: 'give name, safeguard, userNameFrom, scope, paused, clientSecret or serviceAccount',
  })

/** Secrets a native import reads back, sealed under ENCRYPTION_KEY for this integration alone. */
const sealSecrets = (c: Context<AppEnv>, id: string, secrets: Record<string, string>) =>
  seal(c.env, JSON.stringify(secrets), sealContext(id)).catch((e: unknown) => {
    throw internalError(`Secrets cannot be stored: ${(e as Error).message}`)
  })

/** A service account key WebCrypto cannot import is refused when it is given, not at the first sync. */
async function requireSigningKey(privateKey: string) {
  const problem = await privateKeyProblem(privateKey)
  if (problem) throw invalidValue(`serviceAccount.private_key: ${problem}`)
}

/**
 * A PATCH's new credentials, checked against how the integration is connected, as the columns to
 * write; nothing when it gives none. The user ids, delta links and settings stay.
 */
async function newCredentials(
  c: Context<AppEnv>,
  row: IntegrationRow,
  input: { clientSecret?: string; serviceAccount?: { client_email: string; private_key: string } }
): Promise<{ config?: string; sealedSecrets: string } | undefined> {
  if (input.clientSecret === undefined && input.serviceAccount === undefined) return undefined
  const config = row.config ? (JSON.parse(row.config) as { mode: string }) : null
  const reconnect = `re-authenticate it (GET /api/v1/integrations/${row.id}/connect) instead`
  if (input.clientSecret !== undefined) {
    if (row.kind !== 'entra')
      throw invalidValue(`clientSecret: "${row.name}" is a ${row.kind} integration; only Entra apps have a client secret.`)
    if (config?.mode !== 'credentials')
      throw invalidValue(
        `clientSecret: "${row.name}" is ${config ? 'connected by consent' : 'not connected'}, not with an app's credentials: ${reconnect}.`
      )
    return { sealedSecrets: await sealSecrets(c, row.id, { clientSecret: input.clientSecret }) }
  }
  const key = input.serviceAccount!
  if (row.kind !== 'google')
    throw invalidValue(`serviceAccount: "${row.name}" is a ${row.kind} integration; only Google integrations use a service account.`)
  if (config?.mode !== 'serviceAccount')
    throw invalidValue(
      `serviceAccount: "${row.name}" is ${config ? "connected by an admin's sign-in" : 'not connected'}, not with a service account: ${reconnect}.`
    )
  await requireSigningKey(key.private_key)
  return {
    config: JSON.stringify({ ...config, clientEmail: key.client_email }),
    sealedSecrets: await sealSecrets(c, row.id, { privateKey: key.private_key }),
  }
}

/** An integration as the admin API shows it: never a token, token hash or secret. */
export function view(c: Context<AppEnv>, row: IntegrationRow) {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    scimUrl: scimBaseUrl(c),
    createdAt: row.createdAt,
    lastActivityAt: row.lastActivityAt,
    status: row.deletingAt ? ('deleting' as const) : ('active' as const),
    counts: { activeUsers: row.activeUsers, archivedUsers: row.archivedUsers, groups: row.groupCount },
    ...(isNative(row)
      ? {
          source: row.config ? JSON.parse(row.config) : null,
          connected: row.config !== null,
          safeguard: { percent: row.safeguardPercent, maxUsers: row.safeguardMaxUsers, holdNextRemovals: row.holdNextRemovals },
          ...(row.kind === 'entra' ? { userNameFrom: row.userNameFrom } : {}),
          scope: row.scopeGroups ? { groups: scopeOf(row) } : null,
          paused: row.pausedAt !== null,
          pausedAt: row.pausedAt,
        }
      : {}),
  }
}

/**
 * Details add, for native integrations, the last run and the next scheduled one. `runs`: the last
 * runs already read for a whole list (lastRuns), so a list costs one round trip, not one per row.
 */
/** details() of every integration in `rows`, their last runs read together. */
export async function detailsOfAll(c: Context<AppEnv>, rows: IntegrationRow[]) {
  const runs = await lastRuns(
    c.get('db'),
    rows.filter((r) => isNative(r)).map((r) => r.id)
  )
  return Promise.all(rows.map((row) => details(c, row, runs)))
}

export async function details(c: Context<AppEnv>, row: IntegrationRow, runs?: Map<string, SyncRunRow>) {
  const deletion = parseDeletion(row.deletion)
  if (deletion) return { ...view(c, row), ...deletionView(row.id, deletion) }
  if (!isNative(row)) return view(c, row)
  const last = runs ? runs.get(row.id) : await lastRun(c.get('db'), row.id)
  return {
    ...view(c, row),
    lastSync: last ? runView(last) : null,
    lastError: last?.error ?? null,
    // A held run stops the schedule until an admin decides (see src/sync/safeguard.ts); so does a pause.
    nextScheduledRun: last?.status === 'held' || row.pausedAt ? null : nextScheduledRun(),
    ...(last?.status === 'held' ? { held: { runId: last.id, reason: last.heldReason } } : {}),
  }
}

export type CreateIntegrationInput = z.infer<typeof createIntegrationSchema>
export type UpdateIntegrationInput = z.infer<typeof updateIntegrationSchema>

/**
 * A new integration and its SCIM token (shown once). One that would connect by consent is refused at
 * once on a deployment with no consent app, saying what to configure.
 */
export async function addIntegration(c: Context<AppEnv>, body: unknown): Promise<{ row: IntegrationRow; token: string }> {
  const input: CreateIntegrationInput = parseWith(createIntegrationSchema, body)
  if (input.kind === 'google' && input.serviceAccount) await requireSigningKey(input.serviceAccount.private_key)
  const { token, tokenId, hash } = await generateToken()
  const id = crypto.randomUUID()
  if (input.kind === 'google' && (input.serviceAccount === undefined) !== (input.adminEmail === undefined))
    throw invalidValue(
      `${input.serviceAccount ? 'adminEmail' : 'serviceAccount'}: give serviceAccount and adminEmail together, or neither and sign in with Google.`
    )
  if (input.kind === 'entra') {
    const given = [input.tenantId, input.clientId, input.clientSecret].filter((v) => v !== undefined).length
    if (given > 0 && given < 3)
      throw invalidValue(
        `${input.tenantId === undefined ? 'tenantId' : input.clientId === undefined ? 'clientId' : 'clientSecret'}: give tenantId, clientId and clientSecret together, or none and connect with "Sign in with Azure".`
      )
  }
  const sealed = (secrets: Record<string, string>) => sealSecrets(c, id, secrets)
  const native =
    input.kind === 'entra' && input.tenantId && input.clientId && input.clientSecret
      ? {
          config: { mode: 'credentials', tenantId: input.tenantId, clientId: input.clientId },
          sealedSecrets: await sealed({ clientSecret: input.clientSecret }),
        }
      : input.kind === 'google' && input.serviceAccount && input.adminEmail
        ? {
            config: {
              mode: 'serviceAccount',
              clientEmail: input.serviceAccount.client_email,
              adminEmail: input.adminEmail,
              customerId: input.customerId ?? 'my_customer',
            },
            sealedSecrets: await sealed({ privateKey: input.serviceAccount.private_key }),
          }
        : {}
  if (input.kind !== 'scim' && !('config' in native)) requireConsentApp(c.env, input.kind)
  const row = await createIntegration(c.get('db'), { id, kind: input.kind, name: input.name, tokenId, tokenHash: hash, ...native })
  await putToken(c.env.TOKENS, hash, { integrationId: row.id, tokenId })
  return { row, token }
}

/** Rename, settings, pause, new credentials: refused, saying why, where a setting would mean nothing. */
export async function changeIntegration(c: Context<AppEnv>, id: string, body: unknown): Promise<IntegrationRow> {
  // Parsed here, so the admin API and the console cannot differ on what a valid change is.
  const input: UpdateIntegrationInput = parseWith(updateIntegrationSchema, body)
  // Settings of native imports only: refused, saying why, where they would mean nothing.
  let credentials: Awaited<ReturnType<typeof newCredentials>>
  const nativeOnly = [input.userNameFrom, input.safeguard, input.scope, input.paused, input.clientSecret, input.serviceAccount]
  if (nativeOnly.some((v) => v !== undefined)) {
    const current = await getIntegration(c.get('db'), id)
    credentials = await newCredentials(c, current, input)
    if (input.paused !== undefined && !isNative(current))
      throw invalidValue(`paused: "${current.name}" receives SCIM pushes; only native (entra, google) imports run on a schedule.`)
    if (input.safeguard !== undefined && !isNative(current))
      throw invalidValue(`safeguard: "${current.name}" receives SCIM pushes; the import safeguard guards native (entra, google) imports.`)
    if (input.scope !== undefined && !isNative(current))
      throw invalidValue(
        `scope: "${current.name}" receives SCIM pushes; its identity provider decides who it sends (assign users and groups there).`
      )
    if (input.userNameFrom !== undefined && current.kind !== 'entra')
      throw invalidValue(
        `userNameFrom: "${current.name}" is a ${current.kind} integration; only Entra integrations choose where userName comes from.`
      )
  }
  const row = await updateIntegration(c.get('db'), id, {
    ...(input.userNameFrom !== undefined ? { userNameFrom: input.userNameFrom } : {}),
    ...(input.scope !== undefined
      ? { scopeGroups: input.scope && input.scope.groups.length > 0 ? [...new Set(input.scope.groups)] : null }
      : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.paused !== undefined ? { pausedAt: input.paused ? nowIso() : null } : {}),
    ...credentials,
    ...(input.safeguard?.percent !== undefined ? { safeguardPercent: input.safeguard.percent } : {}),
    ...(input.safeguard?.maxUsers !== undefined ? { safeguardMaxUsers: input.safeguard.maxUsers } : {}),
  })
  return row
}

/** A new SCIM token, shown once; the old one stops working at once. */
export async function rotateToken(c: Context<AppEnv>, id: string): Promise<string> {
  const { token, tokenId, hash } = await generateToken()
  // D1 first: from this write on, the old token fails everywhere, whatever KV still says.
  const previous = await replaceToken(c.get('db'), id, tokenId, hash)
  await Promise.all([putToken(c.env.TOKENS, hash, { integrationId: id, tokenId }), deleteToken(c.env.TOKENS, previous)])
  return token
}

/** "Sign in with Azure / Google" and "Re-authenticate": a single-use start link for the admin's browser. */
export async function connectLink(c: Context<AppEnv>, id: string, changeTenant: boolean) {
  const row = notDeleting(await getIntegration(c.get('db'), id))
  if (row.kind === 'scim')
    throw invalidValue(`Integration "${row.name}" receives SCIM pushes; only entra and google integrations connect to a directory.`)
  const link = await consentStartLink(c.env, new URL(c.req.url).origin, row.id, row.kind, changeTenant)
  await setConsentStart(c.get('db'), row.id, link.nonceHash)
  return { ...link, row }
}
