import { describe, expect, it } from 'vitest'
import { open, seal, SealError } from '../../src/auth/seal'

const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
const other = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))

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
    await expect(open(key, `${v}.${iv}.${data!.slice(0, -2)}AA`, 'integration:1')).rejects.toBeInstanceOf(SealError)
    await expect(seal(undefined, 'x', 'c')).rejects.toThrow(/ENCRYPTION_KEY is not set/)
    await expect(seal(btoa('short'), 'x', 'c')).rejects.toThrow(/32 bytes/)
  })
})
