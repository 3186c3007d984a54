import type * as z from 'zod'
import type { RunFailureKind } from '../directory/runs'
/** Why a sync could not go on, in words an admin can act on (shown as the run's error). */
export class SyncError extends Error {
  override name = 'SyncError'
  constructor(
    message: string,
    readonly kind: 'auth' | 'throttled' | 'unavailable' | 'network' | 'protocol' | 'config' | 'notFound'
  ) {
    super(message)
  }

  /**
   * Refused credentials or permissions, a missing setting, or an object the settings name that the
   * source does not have: retrying the step cannot help until an admin acts, so the run fails at
   * once (throttling, outages and network errors are retried).
   */
  get permanent(): boolean {
    return this.failure !== undefined
  }

  /** The kind of a permanent failure, as the run records it (sync_runs.error_kind); else undefined. */
  get failure(): RunFailureKind | undefined {
    return this.kind === 'auth' || this.kind === 'config' || this.kind === 'notFound' ? this.kind : undefined
  }
}

/** The delta token is no longer valid (HTTP 410 / syncStateNotFound): a full sync must start over. */
export class DeltaExpired extends Error {
  override name = 'DeltaExpired'
}

/**
 * What a source sent, read with `schema`, or a SyncError saying what did not fit: tried again like
 * a garbled page (a change of schema that persists fails the run in these words, not Zod's).
 */
export function readAs<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const where = issue?.path.length ? issue.path.join('.') : 'the page'
  throw new SyncError(`${what} sent data the import cannot read (${where}: ${issue?.message ?? 'unexpected shape'}).`, 'protocol')
}
