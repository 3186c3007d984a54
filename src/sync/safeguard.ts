import type { ChangeSummary } from '../directory/run-changes'

/*
 * The import safeguard, as IdPs have one (Okta's Import Safeguard, Entra's accidental-deletions
 * threshold): a run that would archive or remove more users than an integration allows stops as
 * `held` until an admin approves or rejects it. One wrong permission or a consent on the wrong
 * tenant lists a fraction of a company; without this, the sweep would archive the rest.
 */

export interface SafeguardSettings {
  /** More than this share of the active users (0: no share limit). */
  safeguardPercent: number
  /** More than this many users (0: no count limit). */
  safeguardMaxUsers: number
  /** The integration moved to another tenant: this run archives nobody without approval. */
  holdNextRemovals: boolean
}

/**
 * Why a run that would make these changes must wait for an admin, or undefined when it may go on.
 * The limits are the smaller of the two that are set; with both at 0 the safeguard is off.
 */
export function holdReason(settings: SafeguardSettings, activeUsers: number, changes: ChangeSummary): string | undefined {
  const affected = changes.usersArchived + changes.usersRemoved
  if (affected === 0) return undefined
  const what = `archive ${changes.usersArchived} and remove ${changes.usersRemoved} of its ${activeUsers} active users`
  const decide = 'Approve the run to apply them, or reject it to discard them.'
  if (settings.holdNextRemovals)
    return `This is the first run since the integration was connected to another tenant, and it would ${what}. ${decide}`
  const { safeguardPercent: percent, safeguardMaxUsers: max } = settings
  const overShare = percent > 0 && affected * 100 > activeUsers * percent
  const overCount = max > 0 && affected > max
  if (!overShare && !overCount) return undefined
  const limits = [percent > 0 ? `${percent} % of the active users` : '', max > 0 ? `${max} users` : ''].filter(Boolean).join(' or ')
  return `This run would ${what}, more than the import safeguard allows (${limits}${percent > 0 && max > 0 ? ', whichever is smaller' : ''}). ${decide}`
}
