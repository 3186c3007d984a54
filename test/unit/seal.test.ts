import { describe, expect, it } from 'vitest'
import { open, resealed, seal, SealError } from '../../src/auth/seal'
import { fromBase64, toBase64Url } from '../../src/base64url'

const randomKey = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
const key = { ENCRYPTION_KEY: randomKey() }
const other = { ENCRYPTION_KEY: randomKey() }

describe('seal / open (AES-256-GCM)', () => {
  it('round-trips, and never contains the plaintext', async () => {
    const sealed = await seal(key, 'client-secret-value', 'integration:1')
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/)
    expect(sealed).not.toContain('client-secret-value')
    expect(await open(key, sealed, 'integration:1')).toBe('client-secret-value')
    expect(await seal(key, 'client-secret-value', 'integration:1')).not.toBe(sealed)
  })

  it('refuses another key, another context, a tampered value, and a missing or short key', async () => {
    const sealed = await seal(key, 's3cret', 'integration:1')
    await expect(open(other, sealed, 'integration:1')).rejects.toBeInstanceOf(SealError)
    await expect(open(key, sealed, 'integration:2')).rejects.toBeInstanceOf(SealError)
    const [v, iv, data] = sealed.split('.')
    // One bit of the ciphertext flipped (editing its base64 text could leave the bytes as they were).
    const bytes = fromBase64(data!)
    bytes[0]! ^= 1
    await expect(open(key, `${v}.${iv}.${toBase64Url(bytes)}`, 'integration:1')).rejects.toBeInstanceOf(SealError)
    await expect(seal({}, 'x', 'c')).rejects.toThrow(/ENCRYPTION_KEY is not set/)
    await expect(seal({ ENCRYPTION_KEY: btoa('short') }, 'x', 'c')).rejects.toThrow(/32 bytes/)
  })

  it('opens, during a rotation, what the previous key sealed, and reseals it under the new one', async () => {
    const old = await seal(key, 's3cret', 'integration:1')
    const rotating = { ENCRYPTION_KEY: other.ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: key.ENCRYPTION_KEY }
    expect(await open(rotating, old, 'integration:1')).toBe('s3cret')
    const moved = await resealed(rotating, old, 'integration:1')
    expect(moved).toBeDefined()
    expect(await open(other, moved!, 'integration:1')).toBe('s3cret')
    await expect(open(key, moved!, 'integration:1')).rejects.toBeInstanceOf(SealError)
    // Already under the current key: nothing to do.
    expect(await resealed(rotating, moved!, 'integration:1')).toBeUndefined()
    // Without the previous key, the old value says what to set.
    await expect(open(other, old, 'integration:1')).rejects.toThrow(/ENCRYPTION_KEY_PREVIOUS/)
  })
})
