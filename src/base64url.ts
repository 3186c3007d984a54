/*
 * Base64url (RFC 4648 §5, no padding) for tokens, sealed secrets, cursors and JWTs, and plain base64
 * for keys given in that form. Workers have btoa/atob but no base64url; this is the one copy.
 */

const binary = (bytes: Uint8Array) => {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return s
}

/** Bytes, or a string as its UTF-8 bytes, in base64url without padding. */
export const toBase64Url = (data: Uint8Array | string) =>
  btoa(binary(typeof data === 'string' ? new TextEncoder().encode(data) : data))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

/** Bytes from base64 or base64url, padded or not; throws on anything else. */
export const fromBase64 = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))

/** A base64url string holding UTF-8 text (a JSON cursor, a JWT segment). */
export const textFromBase64Url = (text: string) => new TextDecoder().decode(fromBase64(text))
