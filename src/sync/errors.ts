/** Why a sync could not go on, in words an admin can act on (shown as the run's error). */
export class SyncError extends Error {
  override name = 'SyncError'
  constructor(
    message: string,
    readonly kind: 'auth' | 'throttled' | 'unavailable' | 'network' | 'protocol' | 'config'
  ) {
    super(message)
  }
}

/** The delta token is no longer valid (HTTP 410 / syncStateNotFound): a full sync must start over. */
export class DeltaExpired extends Error {
  override name = 'DeltaExpired'
}
