import { describe, expect, it } from 'vitest'
import { config, ConfigError } from '../../src/config'

const env = (vars: Record<string, string>) => vars as unknown as Env

describe('config', () => {
  it('takes the defaults for unset or empty variables and the values given otherwise', () => {
    expect(config(env({}))).toEqual({
      maxBodyBytes: 1048576,
      queryBudget: 1000,
      bulkMaxOperations: 100,
      limits: { maxStringLength: 1024, maxValues: 100 },
      sync: { retryBaseMs: 1000, maxWaitMs: 60000, stepRetries: 3, stepDelay: '10 seconds' },
      eventsRetentionDays: 30,
      deletionStepUsers: 500,
      webhookRetryBaseSeconds: 30,
    })
    const given = config(env({ MAX_BODY_BYTES: '2048', MAX_MULTI_VALUES: '', SYNC_STEP_RETRIES: '0', SYNC_STEP_DELAY: '1 second' }))
    expect(given).toMatchObject({ maxBodyBytes: 2048, limits: { maxValues: 100 }, sync: { stepRetries: 0, stepDelay: '1 second' } })
    // The free plan's 50 queries an invocation leave room for 3 Bulk operations.
    expect(config(env({ D1_QUERIES_PER_INVOCATION: '50' })).bulkMaxOperations).toBe(5)
  })

  it('names a malformed variable instead of falling back to a default', () => {
    expect(() => config(env({ MAX_STRING_LENGTH: 'lots' }))).toThrow(ConfigError)
    expect(() => config(env({ MAX_STRING_LENGTH: 'lots' }))).toThrow(/MAX_STRING_LENGTH .*\(got "lots"\)/)
    expect(() => config(env({ SYNC_STEP_DELAY: 'soon' }))).toThrow(/SYNC_STEP_DELAY must be a duration/)
  })
})
