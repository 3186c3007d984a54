import * as z from 'zod'
import { open } from '../auth/seal'
import { SyncError } from './errors'
import { graphClient, type GraphClient } from './graph/client'
import { defaultRetryPolicy } from './retry'
import type { IntegrationRow } from '../directory/schema'

/** What an Entra integration keeps: the tenant and app in clear, the client secret sealed. */
export const entraConfigSchema = z.object({ tenantId: z.string(), clientId: z.string() })
export const entraSecretsSchema = z.object({ clientSecret: z.string() })

/** The context sealed secrets are bound to: a sealed value only opens on its own integration. */
export const sealContext = (integrationId: string) => `integration:${integrationId}`

const clients = new Map<string, { key: string; client: GraphClient }>()

/** A Graph client for an Entra integration, kept per isolate so its access token is reused across steps. */
export async function graphFor(env: Env, row: IntegrationRow): Promise<GraphClient> {
  if (row.kind !== 'entra' || !row.config || !row.sealedSecrets) throw new SyncError(`Integration "${row.name}" has no Microsoft credentials; connect it first.`, 'config')
  const config = entraConfigSchema.parse(JSON.parse(row.config))
  const secrets = entraSecretsSchema.parse(JSON.parse(await open(env.ENCRYPTION_KEY, row.sealedSecrets, sealContext(row.id))))
  const key = `${config.tenantId}|${config.clientId}|${row.sealedSecrets}`
  const cached = clients.get(row.id)
  if (cached?.key === key) return cached.client
  const client = graphClient(
    { loginBaseUrl: env.MS_LOGIN_BASE_URL, graphBaseUrl: env.GRAPH_BASE_URL, ...config, ...secrets },
    defaultRetryPolicy({ baseDelayMs: Number(env.SYNC_RETRY_BASE_MS) || 1000, maxWaitMs: Number(env.SYNC_MAX_WAIT_MS) || 60_000 })
  )
  clients.set(row.id, { key, client })
  return client
}
