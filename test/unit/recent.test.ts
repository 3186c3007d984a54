import { describe, expect, it } from 'vitest'
import { forgetUser, recalledUser, rememberUser } from '../../src/directory/recent'

const user = (id: string) => ({ id, doc: { userName: id }, version: 1, created: 'c', lastModified: 'm' })

describe("the isolate's copies of users (src/directory/recent.ts)", () => {
  it('keeps each integration apart, and forgets on request', () => {
    rememberUser('one', user('u1'), 10)
    expect(recalledUser('one', 'u1')?.id).toBe('u1')
    expect(recalledUser('two', 'u1')).toBeUndefined()
    forgetUser('one', 'u1')
    expect(recalledUser('one', 'u1')).toBeUndefined()
  })

  it('keeps no large document, and drops an older copy of it', () => {
    rememberUser('big', user('u1'), 10)
    rememberUser('big', { ...user('u1'), version: 2 }, 9000)
    expect(recalledUser('big', 'u1')).toBeUndefined()
  })

  it('holds at most 2,000 users, dropping the least recently remembered', () => {
    for (let i = 0; i < 2000; i++) rememberUser('many', user(`u${i}`), 10)
    // Remembered again, so it is now the most recent.
    rememberUser('many', user('u0'), 10)
    rememberUser('many', user('u2000'), 10)
    expect(recalledUser('many', 'u0')).toBeDefined()
    expect(recalledUser('many', 'u1')).toBeUndefined()
    expect(recalledUser('many', 'u2')).toBeDefined()
    expect(recalledUser('many', 'u2000')).toBeDefined()
  })
})
