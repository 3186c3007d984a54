import { describe, expect, it } from 'vitest'
import { stringify, type Filter } from '../../src/scim/filter/ast'
import { parseFilter } from '../../src/scim/filter/parse'
import { ScimError } from '../../src/scim/errors'

const eq = (attr: string, value: string | number | boolean | null): Filter => ({ op: 'eq', attr, value })

describe('parseFilter', () => {
  it.each<[string, Filter]>([
    ['userName eq "bjensen"', eq('userName', 'bjensen')],
    ['userName Eq "john"', eq('userName', 'john')],
    ['externalId eq "00u1"', eq('externalId', '00u1')],
    ['emails.value eq "a@b.c"', eq('emails.value', 'a@b.c')],
    ['title pr', { op: 'pr', attr: 'title' }],
    ['active eq true', eq('active', true)],
    ['active eq False', eq('active', false)],
    ['x eq null', eq('x', null)],
    ['meta.version eq 5', eq('meta.version', 5)],
    ['userName sw O', { op: 'sw', attr: 'userName', value: 'O' }],
    ['meta.created gt 2015-10-10T14:38:21.86-07:00', { op: 'gt', attr: 'meta.created', value: '2015-10-10T14:38:21.86-07:00' }],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"',
      eq('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', 'Sales'),
    ],
    ['userName eq "a\\"b"', eq('userName', 'a"b')],
    [
      'title pr or userType eq "Intern" and active eq true',
      { op: 'or', left: { op: 'pr', attr: 'title' }, right: { op: 'and', left: eq('userType', 'Intern'), right: eq('active', true) } },
    ],
    [
      '(title pr or userType eq "Intern") and active eq true',
      { op: 'and', left: { op: 'or', left: { op: 'pr', attr: 'title' }, right: eq('userType', 'Intern') }, right: eq('active', true) },
    ],
    ['not (userName ew "sen")', { op: 'not', filter: { op: 'ew', attr: 'userName', value: 'sen' } }],
    ['emails[type eq "work"]', { op: '[]', attr: 'emails', filter: eq('type', 'work') }],
    [
      'emails[type eq "work" and value co "@example.com"]',
      {
        op: '[]',
        attr: 'emails',
        filter: { op: 'and', left: eq('type', 'work'), right: { op: 'co', attr: 'value', value: '@example.com' } },
      },
    ],
    // Entra's form: a value filter on one sub-attribute.
    [
      'emails[type eq "work"].value eq "x@y.z"',
      { op: '[]', attr: 'emails', filter: { op: 'and', left: eq('type', 'work'), right: eq('value', 'x@y.z') } },
    ],
  ])('%s', (text, ast) => {
    expect(parseFilter(text)).toEqual(ast)
  })

  it.each([
    ['', 'empty'],
    ['userName', 'Expected an operator'],
    ['userName eq', 'Expected a value'],
    ['userName xx "a"', 'Expected an operator'],
    ['userName eq "a" and', 'Expected an attribute name'],
    ['(userName eq "a"', 'closing ")"'],
    ['userName eq "a")', 'Unexpected'],
    ['userName eq "abc', 'Unterminated string'],
    ['emails[type eq "work"', 'closing "]"'],
    ['emails[type[value eq "x"]]', 'cannot be nested'],
    ['not userName eq "a"', '"(" after "not"'],
    ['1abc eq "x"', 'Expected an attribute name'],
  ])('rejects %j with invalidFilter (%s)', (text, message) => {
    const err = (() => {
      try {
        parseFilter(text)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(ScimError)
    expect((err as ScimError).status).toBe(400)
    expect((err as ScimError).scimType).toBe('invalidFilter')
    expect((err as ScimError).detail).toContain(message)
  })

  it('names the position of the problem', () => {
    expect(() => parseFilter('userName eq "a" or 1bogus eq "x"')).toThrow(/Expected an attribute name at position 20/)
  })

  it('refuses filters beyond the length and depth limits', () => {
    expect(() => parseFilter(`userName eq "${'a'.repeat(5000)}"`)).toThrow(/at most 4096/)
    expect(() => parseFilter('('.repeat(40) + 'userName eq "a"' + ')'.repeat(40))).toThrow(/deeper than/)
  })

  it('round-trips through stringify', () => {
    for (const text of [
      'userName eq "bjensen"',
      'title pr or (userType eq "Intern" and not (active eq false))',
      'emails[type eq "work" and value co "@x.com"] and meta.lastModified gt "2024-01-01T00:00:00Z"',
    ]) {
      const ast = parseFilter(text)
      expect(parseFilter(stringify(ast))).toEqual(ast)
    }
  })
})
