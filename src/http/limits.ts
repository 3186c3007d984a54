import * as z from 'zod'
import { DEFAULT_VALUE_LIMITS, type ValueLimits } from '../scim/constants'

const positive = (fallback: number) => z.coerce.number().int().positive().default(fallback)
const limitsSchema = z.object({
  MAX_STRING_LENGTH: positive(DEFAULT_VALUE_LIMITS.maxStringLength),
  MAX_MULTI_VALUES: positive(DEFAULT_VALUE_LIMITS.maxValues),
})

let cache: { key: string; limits: ValueLimits } | undefined

/** The resource bounds this deployment sets ([vars] MAX_STRING_LENGTH, MAX_MULTI_VALUES), parsed once per isolate. */
export function valueLimits(env: Env): ValueLimits {
  const key = `${env.MAX_STRING_LENGTH}/${env.MAX_MULTI_VALUES}`
  if (cache?.key !== key) {
    const result = limitsSchema.safeParse({
      MAX_STRING_LENGTH: env.MAX_STRING_LENGTH || undefined,
      MAX_MULTI_VALUES: env.MAX_MULTI_VALUES || undefined,
    })
    // A deployment error, not a client's: it fails loudly (logged 500) instead of silently using a default.
    if (!result.success)
      throw new Error(
        `[vars] ${result.error.issues.map((i) => `${i.path.join('.')} must be a positive integer`).join('; ')} (got "${key}")`
      )
    const parsed = result.data
    cache = { key, limits: { maxStringLength: parsed.MAX_STRING_LENGTH, maxValues: parsed.MAX_MULTI_VALUES } }
  }
  return cache.limits
}
