import * as z from 'zod'
import { DEFAULT_VALUE_LIMITS, maxBulkOperations, type ValueLimits } from './scim/constants'

/*
 * The numeric [vars] of wrangler.toml, parsed once per isolate with zod. An unset variable takes its
 * default; a set but malformed one is a deployment error, reported by name on the first request
 * (logged, 500) rather than silently replaced by a default.
 */

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)
const duration = z
  .string()
  .regex(/^\d+ (second|minute|hour)s?$/, { error: 'must be a duration such as "10 seconds"' })
  .default('10 seconds')

const configSchema = z.object({
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
  MAX_STRING_LENGTH: positiveInt(DEFAULT_VALUE_LIMITS.maxStringLength),
  MAX_MULTI_VALUES: positiveInt(DEFAULT_VALUE_LIMITS.maxValues),
  SYNC_RETRY_BASE_MS: positiveInt(1000),
  SYNC_MAX_WAIT_MS: positiveInt(60_000),
  SYNC_STEP_RETRIES: z.coerce.number().int().min(0).default(3),
  SYNC_STEP_DELAY: duration,
  D1_QUERIES_PER_INVOCATION: positiveInt(1000),
  EVENTS_RETENTION_DAYS: positiveInt(30),
  DELETE_STEP_USERS: positiveInt(500),
  WEBHOOK_RETRY_BASE_SECONDS: positiveInt(30),
})

export interface Config {
  maxBodyBytes: number
  /** D1 queries one Worker invocation may run (the platform's limit for the plan). */
  queryBudget: number
  bulkMaxOperations: number
  limits: ValueLimits
  sync: { retryBaseMs: number; maxWaitMs: number; stepRetries: number; stepDelay: WorkflowSleepDuration }
  /** Days the change feed keeps events; the cron prunes older ones. */
  eventsRetentionDays: number
  /** Users one step of an integration's deletion handles (src/directory/deletion.ts). */
  deletionStepUsers: number
  /** The first wait after a failed webhook delivery, doubling (src/webhooks/deliver.ts). */
  webhookRetryBaseSeconds: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const parsed = new WeakMap<object, Config>()

export function config(env: Env): Config {
  const known = parsed.get(env)
  if (known) return known
  const raw = Object.fromEntries(
    Object.keys(configSchema.shape).map((k) => [k, (env as unknown as Record<string, unknown>)[k] || undefined])
  )
  const result = configSchema.safeParse(raw)
  if (!result.success)
    throw new ConfigError(
      `[vars] ${result.error.issues.map((i) => `${i.path.join('.')} ${i.message} (got "${raw[String(i.path[0])]}")`).join('; ')}`
    )
  const v = result.data
  const out: Config = {
    maxBodyBytes: v.MAX_BODY_BYTES,
    queryBudget: v.D1_QUERIES_PER_INVOCATION,
    bulkMaxOperations: maxBulkOperations(v.D1_QUERIES_PER_INVOCATION),
    limits: { maxStringLength: v.MAX_STRING_LENGTH, maxValues: v.MAX_MULTI_VALUES },
    sync: {
      retryBaseMs: v.SYNC_RETRY_BASE_MS,
      maxWaitMs: v.SYNC_MAX_WAIT_MS,
      stepRetries: v.SYNC_STEP_RETRIES,
      stepDelay: v.SYNC_STEP_DELAY as WorkflowSleepDuration,
    },
    eventsRetentionDays: v.EVENTS_RETENTION_DAYS,
    deletionStepUsers: v.DELETE_STEP_USERS,
    webhookRetryBaseSeconds: v.WEBHOOK_RETRY_BASE_SECONDS,
  }
  parsed.set(env, out)
  return out
}
