import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/*
 * The directory in D1. Every row carries its integration id and every index starts with it, so a
 * query can never reach another integration's data and every lookup an IdP makes is an index seek.
 *
 * `*_key` columns hold the case-folded form of case-insensitive attributes (RFC 7643 caseExact=false),
 * folded in JS (SQLite's lower() folds ASCII only), so `eq` on them is a plain indexed equality.
 * `data` holds the SCIM attributes as sent (after schema validation), minus id/meta/groups/members,
 * which the server owns or derives.
 */

/** Failures that end a run at once, as src/sync/errors.ts SyncError kinds them. */
export const RUN_FAILURE_KINDS = ['auth', 'config', 'notFound'] as const
export type RunFailureKind = (typeof RUN_FAILURE_KINDS)[number]

export const integrations = sqliteTable(
  'integrations',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['scim', 'entra', 'google'] }).notNull(),
    name: text('name').notNull(),
    nameKey: text('name_key').notNull(),
    // The one token currently valid. KV maps token hashes to integrations; this column is the
    // authoritative check, so a rotated token stops working at once everywhere.
    currentTokenId: text('current_token_id'),
    currentTokenHash: text('current_token_hash'),
    createdAt: text('created_at').notNull(),
    lastActivityAt: text('last_activity_at'),
    // Maintained by triggers (see migrations), so counts and unfiltered totals cost one row read.
    activeUsers: integer('active_users').notNull().default(0),
    archivedUsers: integer('archived_users').notNull().default(0),
    groupCount: integer('group_count').notNull().default(0),
    // Native imports (kind entra/google): non-secret settings as JSON, secrets sealed with
    // AES-GCM (src/auth/seal.ts), and where incremental sync resumes.
    config: text('config'),
    sealedSecrets: text('sealed_secrets'),
    usersDeltaLink: text('users_delta_link'),
    groupsDeltaLink: text('groups_delta_link'),
    /** Users removed at the source but kept (archived) for their devices: hidden from SCIM, counted apart. */
    hiddenUsers: integer('hidden_users').notNull().default(0),
    /** Set when DELETE /api/v1/integrations/:id began; the deletion's progress as JSON (see deletion.ts). */
    deletingAt: text('deleting_at'),
    deletion: text('deletion'),
    /**
     * The import safeguard (src/sync/safeguard.ts): a run that would archive or remove more than this
     * share of the active users, or more users than this, is held for an admin. 0 turns a limit off.
     */
    safeguardPercent: integer('safeguard_percent').notNull().default(10),
    safeguardMaxUsers: integer('safeguard_max_users').notNull().default(500),
    /** Set when a consent moved the integration to another tenant: the next run archives nobody unapproved. */
    holdNextRemovals: integer('hold_next_removals', { mode: 'boolean' }).notNull().default(false),
    /**
     * The SHA-256 of the one consent start link not yet opened (src/sync/consent.ts): opening it
     * clears this, so a leaked or replayed start link starts nothing.
     */
    consentStartHash: text('consent_start_hash'),
    /** Entra: the Graph property a user's userName comes from (tenants differ: some keep mail, not the UPN, stable). */
    userNameFrom: text('user_name_from', { enum: ['userPrincipalName', 'mail'] })
      .notNull()
      .default('userPrincipalName'),
    /**
     * The import's scope (src/sync/scope.ts): a JSON array of source group ids whose transitive
     * members alone are imported; null imports everyone.
     */
    scopeGroups: text('scope_groups'),
    /** When an admin paused the schedule: the cron starts no run until resumed ("Sync users now" still does). */
    pausedAt: text('paused_at'),
  },
  (t) => [
    uniqueIndex('integrations_name_key').on(t.nameKey),
    // Lets a brand-new token work before KV has propagated it (see src/auth/token-store.ts).
    uniqueIndex('integrations_token_hash').on(t.currentTokenHash),
  ]
)

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    integrationId: text('integration_id').notNull(),
    userName: text('user_name').notNull(),
    userNameKey: text('user_name_key').notNull(),
    externalId: text('external_id'),
    displayName: text('display_name'),
    active: integer('active', { mode: 'boolean' }).notNull(),
    data: text('data').notNull(),
    /** `data` with case-insensitive strings folded (src/scim/fold.ts), for filters; NULL on rows written before it. */
    dataKey: text('data_key'),
    version: integer('version').notNull().default(1),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    /** When the user was last archived; NULL while active. Kept by triggers (migration 0012) on every path. */
    archivedAt: text('archived_at'),
    /**
     * When the user was removed (SCIM DELETE, or deleted at the source) but kept, archived, because a
     * device is assigned to it. SCIM no longer sees it (RFC 7644 §3.6); the application API does.
     */
    deletedAt: text('deleted_at'),
    /** `{id,name}` of the integration this user was kept from when that integration was deleted. */
    detachedFrom: text('detached_from'),
    /**
     * The import step that last created or changed this user (`<run id>/<step name>`) and how, so a
     * step the Workflow runs again after its writes committed reports them as it did the first time
     * rather than as unchanged (src/directory/imports.ts). NULL on users only SCIM ever wrote.
     */
    importStep: text('import_step'),
    importChange: text('import_change', { enum: ['created', 'updated', 'restored'] }),
  },
  (t) => [
    uniqueIndex('users_user_name').on(t.integrationId, t.userNameKey),
    // With id last the index also yields the list order, so the planner seeks it rather than
    // walking users_list_order and filtering (found by test/integration/cost.test.ts).
    index('users_external_id').on(t.integrationId, t.externalId, t.id),
    // Stable list order (Okta pages with startIndex/count and needs it stable).
    uniqueIndex('users_list_order').on(t.integrationId, t.id),
    // sortBy and range filters on meta.created / meta.lastModified ("what changed since").
    index('users_created').on(t.integrationId, t.createdAt, t.id),
    index('users_last_modified').on(t.integrationId, t.updatedAt, t.id),
    // The application API's listings (src/directory/views.ts): by status within an integration or
    // across all, and "changed since" across all, each in keyset order (test/integration/read-plan.test.ts
    // checks the plans). "Changed since" of any status merges the two status ranges of
    // users_all_status_updated, so no index on (updated_at, id) alone: every update moves updated_at,
    // and that index cost a row on each (docs/writes.md).
    index('users_status_order').on(t.integrationId, t.active, t.id),
    index('users_all_status_order').on(t.active, t.id),
    index('users_all_status_updated').on(t.active, t.updatedAt, t.id),
  ]
)

/*
 * `user_search` (term, user_id, integration_id), the index behind `q` on GET /api/v1/users, is kept by
 * triggers only and read only by raw SQL (src/directory/views.ts), so it lives in migration 0017
 * alone: a WITHOUT ROWID table, which drizzle cannot declare.
 */

/**
 * One row per email value, so `emails.value eq` and `emails[type eq "work"].value eq` are index seeks.
 * WITHOUT ROWID since migration 0029, which drizzle cannot declare: keep the key when changing it.
 */
export const userEmails = sqliteTable(
  'user_emails',
  {
    userId: text('user_id').notNull(),
    integrationId: text('integration_id').notNull(),
    position: integer('position').notNull(),
    valueKey: text('value_key').notNull(),
    typeKey: text('type_key'),
  },
  (t) => [primaryKey({ columns: [t.userId, t.position] }), index('user_emails_value').on(t.integrationId, t.valueKey)]
)

export const groups = sqliteTable(
  'groups',
  {
    id: text('id').primaryKey(),
    integrationId: text('integration_id').notNull(),
    displayName: text('display_name').notNull(),
    displayNameKey: text('display_name_key').notNull(),
    externalId: text('external_id'),
    data: text('data').notNull(),
    dataKey: text('data_key'),
    version: integer('version').notNull().default(1),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    /** Kept by triggers on group_members (migration 0016), so a page of groups shows counts in O(page). */
    memberCount: integer('member_count').notNull().default(0),
  },
  (t) => [
    uniqueIndex('groups_display_name').on(t.integrationId, t.displayNameKey),
    index('groups_external_id').on(t.integrationId, t.externalId, t.id),
    uniqueIndex('groups_list_order').on(t.integrationId, t.id),
    index('groups_last_modified').on(t.integrationId, t.updatedAt, t.id),
    // The application API's "changed since" across integrations (by integration, groups_last_modified serves).
    index('groups_all_updated').on(t.updatedAt, t.id),
    // The application API's `q` (a prefix of displayName) across integrations; groups_display_name serves one.
    index('groups_all_display_name').on(t.displayNameKey, t.id),
  ]
)

/** WITHOUT ROWID since migration 0029 (a membership is its key), which drizzle cannot declare. */
export const groupMembers = sqliteTable(
  'group_members',
  {
    groupId: text('group_id').notNull(),
    memberId: text('member_id').notNull(),
    memberType: text('member_type', { enum: ['User', 'Group'] }).notNull(),
    integrationId: text('integration_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.memberId] }),
    // A user's `groups` attribute, and cleaning up memberships when a user is deleted.
    index('group_members_member').on(t.memberId),
  ]
)

/** One import run of a native integration (a Workflow instance with the same id). */
export const syncRuns = sqliteTable(
  'sync_runs',
  {
    id: text('id').primaryKey(),
    integrationId: text('integration_id').notNull(),
    trigger: text('trigger', { enum: ['cron', 'manual'] }).notNull(),
    /** held: stopped by the safeguard until approved (back to running) or rejected. */
    status: text('status', { enum: ['running', 'succeeded', 'failed', 'held', 'rejected', 'cancelled'] }).notNull(),
    /** full: a complete listing (first run, or after an expired delta token); delta: changes only. */
    mode: text('mode', { enum: ['full', 'delta'] }),
    startedAt: text('started_at').notNull(),
    finishedAt: text('finished_at'),
    /** The last time a step recorded progress: a run silent for long has died (see failDeadRun). */
    progressAt: text('progress_at'),
    pages: integer('pages').notNull().default(0),
    usersCreated: integer('users_created').notNull().default(0),
    usersUpdated: integer('users_updated').notNull().default(0),
    usersArchived: integer('users_archived').notNull().default(0),
    usersRemoved: integer('users_removed').notNull().default(0),
    groupsChanged: integer('groups_changed').notNull().default(0),
    // D1's own figures for the run's directory reads and writes.
    rowsRead: integer('rows_read').notNull().default(0),
    rowsWritten: integer('rows_written').notNull().default(0),
    error: text('error'),
    /**
     * What kind of failure ended the run, when it was one that retrying cannot fix (a refused
     * credential, a missing setting, an object the settings name): 'auth' is what the console calls
     * "needs re-authentication". NULL for other failures and for runs that did not fail.
     */
    errorKind: text('error_kind', { enum: RUN_FAILURE_KINDS }),
    /** The Workflow instance carrying the run: its id, or after an approval the instance applying it. */
    instanceId: text('instance_id'),
    /** A held run's delta links, saved for the next run only if it is approved. JSON. */
    heldLinks: text('held_links'),
    /** Why the run is held, in words. */
    heldReason: text('held_reason'),
    cancelRequestedAt: text('cancel_requested_at'),
    /** A dry run reads the source and reports what a real run would change, writing no directory row. */
    dryRun: integer('dry_run', { mode: 'boolean' }).notNull().default(false),
    /** What the listing found, by kind, with the first users of each (src/directory/run-report.ts). JSON. */
    report: text('report'),
  },
  (t) => [
    index('sync_runs_integration').on(t.integrationId, t.startedAt),
    // One run at a time per integration, enforced by the database itself; a held run still counts,
    // so nothing starts before an admin approves or rejects it.
    uniqueIndex('sync_runs_one_open')
      .on(t.integrationId)
      .where(sql`status IN ('running', 'held')`),
  ]
)

/**
 * The archives and removals an import run found (src/directory/run-changes.ts). A run records them
 * as it reads pages and applies them after its listing, once the safeguard lets it, so a run that
 * stops part-way or is held has archived nobody. `version` is the user's version when recorded:
 * an approval applies a change only to a user unchanged since.
 */
export const syncChanges = sqliteTable(
  'sync_changes',
  {
    runId: text('run_id').notNull(),
    targetId: text('target_id').notNull(),
    target: text('target', { enum: ['user', 'group'] }).notNull(),
    action: text('action', { enum: ['archive', 'remove'] }).notNull(),
    version: integer('version'),
    reason: text('reason').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.targetId] })]
)

export type SyncRunRow = typeof syncRuns.$inferSelect
export type IntegrationRow = typeof integrations.$inferSelect
export type UserRow = typeof users.$inferSelect
export type GroupRow = typeof groups.$inferSelect

/**
 * Application API keys (`/api/v1`): only a hash of each key is kept, here (the authority, checked on
 * every request, so a revoked key is dead at once) and in KV (the fast path), as for SCIM tokens.
 */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    scope: text('scope', { enum: ['read', 'write'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: text('created_at').notNull(),
    lastUsedAt: text('last_used_at'),
  },
  (t) => [uniqueIndex('api_keys_token_hash').on(t.tokenHash)]
)

export type ApiKeyRow = typeof apiKeys.$inferSelect

/**
 * Which user each device is assigned to. Devices belong to the application; the directory only
 * records the assignment, so a device has at most one user (its id is the primary key).
 */
export const devices = sqliteTable(
  'devices',
  {
    id: text('id').primaryKey(),
    name: text('name'),
    userId: text('user_id').notNull(),
    assignedAt: text('assigned_at').notNull(),
  },
  (t) => [index('devices_user').on(t.userId, t.id)]
)

export type DeviceRow = typeof devices.$inferSelect

/**
 * The change feed (an outbox): one row per change, written by triggers (migration 0016) in the same
 * transaction as the change, whichever path made it. Ids are the rowid, max + 1, so they increase in
 * commit order (D1 has one writer) and a cursor is just an id; the prune never removes the newest
 * event, so the max never goes back and no id is reused. Neither AUTOINCREMENT (a sqlite_sequence
 * write per event) nor a secondary index (one more per event): each change costs exactly one row
 * written here (npm run bench), and filters by type or integration read a bounded window of ids.
 */
export const events = sqliteTable('events', {
  id: integer('id').primaryKey(),
  type: text('type').notNull(),
  occurredAt: text('occurred_at').notNull(),
  integrationId: text('integration_id'),
  data: text('data').notNull(),
})

/** One row (id 1): the highest event id the retention prune removed, below which cursors are stale. */
export const feedState = sqliteTable('feed_state', {
  id: integer('id').primaryKey(),
  prunedThrough: integer('pruned_through').notNull().default(0),
})

/**
 * Webhook endpoints (src/webhooks). Each follows the change feed from its own cursor: the id of the
 * last event it was sent (or gave up on), so deliveries go out in feed order, one at a time.
 */
export const webhooks = sqliteTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** The patterns as given ("user.*", "group.member_added"); `types` is what they expand to. */
  events: text('events').notNull(),
  types: text('types').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  /** The signing secret, sealed (AES-GCM under ENCRYPTION_KEY): it must be read back to sign. */
  sealedSecret: text('sealed_secret').notNull(),
  cursor: integer('cursor').notNull(),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  /** Since when deliveries have failed without a success; NULL while healthy. */
  failingSince: text('failing_since'),
  attempts: integer('attempts').notNull().default(0),
  /** No delivery before this time (backing off after a failure). */
  nextAttemptAt: text('next_attempt_at'),
  /** One deliverer at a time, so one endpoint's events go out in order. */
  leaseUntil: text('lease_until'),
  disabledReason: text('disabled_reason'),
  lastDeliveryAt: text('last_delivery_at'),
})

export type WebhookRow = typeof webhooks.$inferSelect

/** Every delivery attempt, for GET /api/v1/webhooks/:id/deliveries; pruned with the feed. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    webhookId: text('webhook_id').notNull(),
    /** The event's id in the feed, or the ping's id. */
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    attempt: integer('attempt').notNull(),
    /** delivered (2xx), failed (will be retried), rejected (a 4xx other than 408/429: not retried), dead (given up after 24 hours). */
    status: text('status', { enum: ['delivered', 'failed', 'rejected', 'dead'] }).notNull(),
    responseStatus: integer('response_status'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    attemptedAt: text('attempted_at').notNull(),
  },
  (t) => [index('webhook_deliveries_webhook').on(t.webhookId, t.id), index('webhook_deliveries_time').on(t.attemptedAt)]
)

/**
 * Never holds a row. A write batch that must not happen unless a condition holds (the caller's token
 * is current, the version it computed from is still the stored one, the members it adds exist)
 * starts with `INSERT INTO write_guards SELECT '<name>' WHERE NOT (<condition>)`; the trigger of
 * migration 0028 aborts that insert, and D1 rolls back the whole batch, so the request learns which
 * guard failed from the error and nothing in the batch is written (src/directory/guards.ts).
 */
export const writeGuards = sqliteTable('write_guards', {
  failed: text('failed').notNull(),
})

/**
 * Recent provisioning activity of SCIM integrations: the requests that changed something or failed,
 * so an admin sees why an IdP reports an error (src/directory/activity.ts). Written after the
 * response, never for a read that succeeded; at most ACTIVITY_KEPT rows per integration, and none
 * older than ACTIVITY_DAYS.
 */
export const scimActivity = sqliteTable(
  'scim_activity',
  {
    id: integer('id').primaryKey(),
    integrationId: text('integration_id').notNull(),
    at: text('at').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    status: integer('status').notNull(),
    scimType: text('scim_type'),
    detail: text('detail'),
  },
  (t) => [index('scim_activity_integration').on(t.integrationId, t.id)]
)

export type ScimActivityRow = typeof scimActivity.$inferSelect
