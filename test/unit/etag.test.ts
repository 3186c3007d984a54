import { describe, expect, it } from 'vitest'
import { checkIfMatch, etagMatches } from '../../src/scim/etag'

describe('etagMatches', () => {
  it.each([
    ['W/"3"', 3, true],
    ['"3"', 3, true],
    ['W/"3"', 4, false],
    ['*', 9, true],
    ['W/"1", W/"3"', 3, true],
    ['W/"13"', 3, false],
    ['', 3, false],
  ])('%j vs version %d → %s', (header, version, expected) => {
    expect(etagMatches(header, version)).toBe(expected)
  })

  it('checkIfMatch passes without a header and throws 412 on a mismatch', () => {
    expect(() => checkIfMatch(undefined, 1, 'User "u"')).not.toThrow()
    expect(() => checkIfMatch('W/"2"', 1, 'User "u"')).toThrow(expect.objectContaining({ status: 412 }))
  })
})
