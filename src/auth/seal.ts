/*
 * Secrets that must be read back (client secrets, private keys, refresh tokens) are sealed with
 * AES-256-GCM under ENCRYPTION_KEY (32 random bytes, base64) before they reach D1 or KV. A sealed
 * value is "v1.<iv>.<ciphertext>" in base64url; the associated data binds it to its integration,
 * so a sealed secret copied onto another integration's row does not open.
 *
 * Rotation: with ENCRYPTION_KEY_PREVIOUS set to the key being retired, values sealed under it
 * still open, new ones are sealed under ENCRYPTION_KEY, and resealed() moves an old one over
 * (src/admin/reseal.ts does it for every stored secret). GCM's tag tells the keys apart, so the
 * format needs no key id.
 */

import { fromBase64 as fromB64, toBase64Url as b64url } from '../base64url'

export class SealError extends Error {
  override name = 'SealError'
}

/** The deployment's key itself is missing or malformed: no sealed value is at fault. */
export class SealKeyError extends SealError {
  override name = 'SealKeyError'
}

async function keyFrom(encryptionKey: string | undefined, name = 'ENCRYPTION_KEY'): Promise<CryptoKey> {
  if (!encryptionKey)
    throw new SealKeyError(
      `${name} is not set: \`npm start\` writes one to .dev.vars; deployments set it with \`wrangler secret put ${name}\`.`
    )
  let raw: Uint8Array
  try {
    raw = fromB64(encryptionKey.trim())
  } catch {
    throw new SealKeyError(`${name} is not base64.`)
  }
  if (raw.byteLength !== 32) throw new SealKeyError(`${name} must be 32 bytes (base64 of 32 random bytes), not ${raw.byteLength}.`)
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
}

/** The keys a deployment seals and opens with (Worker secrets). */
export interface SealKeys {
  ENCRYPTION_KEY?: string | undefined
  ENCRYPTION_KEY_PREVIOUS?: string | undefined
}

export async function seal(keys: SealKeys, plaintext: string, context: string): Promise<string> {
  const key = await keyFrom(keys.ENCRYPTION_KEY)
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const data = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(context) },
    key,
    new TextEncoder().encode(plaintext)
  )
  return `v1.${b64url(iv)}.${b64url(new Uint8Array(data))}`
}

async function openWith(encryptionKey: string | undefined, sealed: string, context: string, name?: string): Promise<string | undefined> {
  const key = await keyFrom(encryptionKey, name)
  const [version, iv, data] = sealed.split('.')
  if (version !== 'v1' || !iv || !data) throw new SealError('The sealed secret is not in a format this service wrote.')
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromB64(iv), additionalData: new TextEncoder().encode(context) },
      key,
      fromB64(data)
    )
    return new TextDecoder().decode(plain)
  } catch {
    return undefined
  }
}

/** The plaintext, and whether it was sealed under the previous key (and wants resealing). */
async function opened(keys: SealKeys, sealed: string, context: string): Promise<{ plain: string; previous: boolean }> {
  const plain = await openWith(keys.ENCRYPTION_KEY, sealed, context)
  if (plain !== undefined) return { plain, previous: false }
  const old = keys.ENCRYPTION_KEY_PREVIOUS
    ? await openWith(keys.ENCRYPTION_KEY_PREVIOUS, sealed, context, 'ENCRYPTION_KEY_PREVIOUS')
    : undefined
  if (old !== undefined) return { plain: old, previous: true }
  throw new SealError(
    keys.ENCRYPTION_KEY_PREVIOUS
      ? 'The sealed secret opens with neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS.'
      : 'The sealed secret does not open with this ENCRYPTION_KEY (was the key changed? Set the old one as ENCRYPTION_KEY_PREVIOUS).'
  )
}

export async function open(keys: SealKeys, sealed: string, context: string): Promise<string> {
  return (await opened(keys, sealed, context)).plain
}

/** The value sealed anew under ENCRYPTION_KEY when it was sealed under the previous key; undefined when it is current. */
export async function resealed(keys: SealKeys, sealed: string, context: string): Promise<string | undefined> {
  const { plain, previous } = await opened(keys, sealed, context)
  return previous ? seal(keys, plain, context) : undefined
}
