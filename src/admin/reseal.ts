import { resealed, SealError, SealKeyError } from '../auth/seal'
import type { Db } from '../directory/db'
import { replaceSealed, sealedValues, type SealedValue } from '../directory/sealed'
import { sealContext as integrationContext } from '../sync/source'
import { sealContext as webhookContext } from '../webhooks/deliver'

/*
 * The ENCRYPTION_KEY rotation's second half (SECURITY.md): with the new key as ENCRYPTION_KEY and
 * the old one as ENCRYPTION_KEY_PREVIOUS, every stored secret still sealed under the old key is
 * sealed anew under the new one. Run by POST /api/v1/encryption/reseal and by each cron tick while
 * ENCRYPTION_KEY_PREVIOUS is set; once `previous` reads 0, the old key can be deleted.
 */

const contextOf = (v: SealedValue) => (v.owner === 'integration' ? integrationContext(v.id) : webhookContext(v.id))

export interface ResealReport {
  /** Moved to ENCRYPTION_KEY by this call. */
  resealed: number
  /** Already under ENCRYPTION_KEY. */
  current: number
  /** Still under the previous key (changed while this ran: the next call takes them). */
  previous: number
  /** Opening with neither key: their credentials must be given again. */
  unreadable: { owner: SealedValue['owner']; id: string }[]
}

export async function resealAll(env: Env, db: Db): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, current: 0, previous: 0, unreadable: [] }
  const changes: { value: SealedValue; next: string }[] = []
  for (const value of await sealedValues(db)) {
    try {
      const next = await resealed(env, value.sealed, contextOf(value))
      if (next) changes.push({ value, next })
      else report.current++
    } catch (e) {
      // A malformed key is the deployment's to fix, not a value to report.
      if (!(e instanceof SealError) || e instanceof SealKeyError) throw e
      report.unreadable.push({ owner: value.owner, id: value.id })
    }
  }
  report.resealed = await replaceSealed(db, changes)
  report.previous = changes.length - report.resealed
  return report
}
