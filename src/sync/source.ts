import { config } from '../config'
import * as z from 'zod'
import { open } from '../auth/seal'
import { SyncError } from './errors'
import { googleClient, type GoogleClient, type GoogleCredentials } from './google/client'
import { graphClient, type GraphClient } from './graph/client'
import { defaultRetryPolicy } from './retry'
import type { IntegrationRow } from '../directory/schema'

/**
 * What an Entra integration keeps. `credentials`: the customer's own app (client secret sealed in
 * D1); `consent`: the deployment's app (MS_CLIENT_ID / MS_CLIENT_SECRET), consented in the tenant.
 */
export const entraConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('credentials'), tenantId: z.string(), clientId: z.string() }),
  z.object({ mode: z.literal('consent'), tenantId: z.string(), consentedAt: z.string() }),
])
export type EntraConfig = z.infer<typeof entraConfigSchema>
export const entraSecretsSchema = z.object({ clientSecret: z.string() })

/** The context sealed secrets are bound to: a sealed value only opens on its own integration. */
export const sealContext = (integrationId: string) => `integration:${integrationId}`

/**
 * A Google integration: a service account (its email and the admin it acts as; the private key
 * sealed), or an admin's OAuth grant to the deployment's app (the refresh token sealed).
 */
export const googleConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('serviceAccount'), clientEmail: z.string(), adminEmail: z.string(), customerId: z.string() }),
  z.object({ mode: z.literal('oauth'), adminEmail: z.string(), customerId: z.string(), consentedAt: z.string() }),
])
export const googleSecretsSchema = z.union([z.object({ privateKey: z.string() }), z.object({ refreshToken: z.string() })])

const clients = new Map<string, { key: string; client: GraphClient }>()
const googleClients = new Map<string, { key: string; client: GoogleClient }>()

const retryPolicy = (env: Env) => defaultRetryPolicy({ baseDelayMs: config(env).sync.retryBaseMs, maxWaitMs: config(env).sync.maxWaitMs })

/** A Directory API client for a Google integration, kept per isolate so its access token is reused. */
export async function googleFor(env: Env, row: IntegrationRow): Promise<GoogleClient> {
  if (row.kind !== 'google' || !row.config || !row.sealedSecrets)
    throw new SyncError(`Integration "${row.name}" has no Google service account.`, 'config')
  const config = googleConfigSchema.parse(JSON.parse(row.config))
  const key = `${row.config}|${row.sealedSecrets}`
  const cached = googleClients.get(row.id)
  if (cached?.key === key) return cached.client
  const secrets = googleSecretsSchema.parse(JSON.parse(await open(env, row.sealedSecrets, sealContext(row.id))))
  let credentials: GoogleCredentials
  if (config.mode === 'serviceAccount' && 'privateKey' in secrets) {
    credentials = {
      kind: 'serviceAccount',
      serviceAccount: { client_email: config.clientEmail, private_key: secrets.privateKey },
      adminEmail: config.adminEmail,
    }
  } else if (config.mode === 'oauth' && 'refreshToken' in secrets) {
    if (!env.GOOGLE_CLIENT_ID || !env.GOOGLE_CLIENT_SECRET)
      throw new SyncError("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set, so the admin's grant cannot be used.", 'config')
    credentials = {
      kind: 'oauth',
      clientId: env.GOOGLE_CLIENT_ID,
      clientSecret: env.GOOGLE_CLIENT_SECRET,
      refreshToken: secrets.refreshToken,
    }
  } else throw new SyncError(`Integration "${row.name}" has inconsistent Google credentials; connect it again.`, 'config')
  const client = googleClient(
    { tokenUrl: env.GOOGLE_TOKEN_URL, directoryBaseUrl: env.GOOGLE_DIRECTORY_BASE_URL, credentials, customerId: config.customerId },
    retryPolicy(env)
  )
  googleClients.set(row.id, { key, client })
  return client
}

/** A Graph client for an Entra integration, kept per isolate so its access token is reused across steps. */
export async function graphFor(env: Env, row: IntegrationRow): Promise<GraphClient> {
  if (row.kind !== 'entra' || !row.config)
    throw new SyncError(
      `Integration "${row.name}" is not connected to Microsoft yet: run "Sign in with Azure" (/connect) or give it credentials.`,
      'config'
    )
  const config = entraConfigSchema.parse(JSON.parse(row.config))
  let app: { clientId: string; clientSecret: string }
  if (config.mode === 'consent') {
    if (!env.MS_CLIENT_ID || !env.MS_CLIENT_SECRET)
      throw new SyncError('MS_CLIENT_ID and MS_CLIENT_SECRET are not set, so the consented app cannot sign in.', 'config')
    app = { clientId: env.MS_CLIENT_ID, clientSecret: env.MS_CLIENT_SECRET }
  } else {
    if (!row.sealedSecrets) throw new SyncError(`Integration "${row.name}" has no client secret.`, 'config')
    app = {
      clientId: config.clientId,
      ...entraSecretsSchema.parse(JSON.parse(await open(env, row.sealedSecrets, sealContext(row.id)))),
    }
  }
  const key = `${config.tenantId}|${app.clientId}|${config.mode === 'consent' ? 'consent' : row.sealedSecrets}`
  const cached = clients.get(row.id)
  if (cached?.key === key) return cached.client
  const client = graphClient(
    { loginBaseUrl: env.MS_LOGIN_BASE_URL, graphBaseUrl: env.GRAPH_BASE_URL, tenantId: config.tenantId, ...app },
    retryPolicy(env)
  )
  clients.set(row.id, { key, client })
  return client
}
