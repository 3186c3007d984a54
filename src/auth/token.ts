import { toBase64Url } from '../base64url'
/** Bearer tokens: `scim_<tokenId>_<secret>`. The secret carries 256 random bits; the id is public. */
export const TOKEN_PREFIX = 'scim_'

const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n))

export interface NewToken {
  token: string
  tokenId: string
  hash: string
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** Application API keys (`/api/v1`): `key_<keyId>_<secret>`, so neither surface mistakes the other's credential. */
export const API_KEY_PREFIX = 'key_'

export async function generateToken(prefix = TOKEN_PREFIX): Promise<NewToken> {
  const tokenId = toBase64Url(randomBytes(9))
  const token = `${prefix}${tokenId}_${toBase64Url(randomBytes(32))}`
  return { token, tokenId, hash: await sha256Hex(token) }
}

/** Constant-time comparison of two secrets, through their digests so lengths do not leak either. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256Hex(a), sha256Hex(b)])
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x.charCodeAt(i) ^ y.charCodeAt(i)
  return diff === 0
}
