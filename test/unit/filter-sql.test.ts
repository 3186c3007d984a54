import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { compileFilter, type FilterTarget } from '../../src/directory/filter-sql'
import { parseFilter } from '../../src/scim/filter/parse'
import { USER_RESOURCE } from '../../src/scim/schemas/registry'

const target: FilterTarget = {
  rt: USER_RESOURCE,
  data: sql.raw('data'),
  dataKey: sql.raw('data_key'),
  columns: { username: { expr: sql.raw('user_name_key'), folded: true }, id: { expr: sql.raw('id') }, active: { expr: sql.raw('active') } },
  collections: {
    emails: {
      columns: { value: { expr: sql.raw('value_key'), folded: true }, type: { expr: sql.raw('type_key'), folded: true } },
      seekable: ['value'],
      membership: (inner) => sql`id IN (SELECT user_id FROM user_emails WHERE ${inner})`,
      correlated: (inner) => sql`EXISTS (SELECT 1 FROM user_emails WHERE user_id = id AND ${inner})`,
    },
  },
}
const dialect = new SQLiteSyncDialect()
const compile = (text: string) => {
  const { sql: text_, params } = dialect.sqlToQuery(compileFilter(parseFilter(text), target))
  return { sql: text_, params }
}

describe('compileFilter', () => {
  it('compares userName on its case-folded indexed column with a bound, folded value', () => {
    expect(compile('userName eq "Alice@Example.COM"')).toEqual({ sql: 'user_name_key = ?', params: ['alice@example.com'] })
  })

  it('keeps case-exact attributes exact', () => {
    expect(compile('id eq "AbC"')).toEqual({ sql: 'id = ?', params: ['AbC'] })
  })

  it('compiles Entra\'s emails[type eq "work"].value filter to the email index', () => {
    expect(compile('emails[type eq "work"].value eq "A@B.C"')).toEqual({
      sql: 'id IN (SELECT user_id FROM user_emails WHERE (type_key = ? AND value_key = ?))',
      params: ['work', 'a@b.c'],
    })
    expect(compile('emails.value eq "a@b.c"').sql).toBe('id IN (SELECT user_id FROM user_emails WHERE value_key = ?)')
  })

  it('uses IN (…) when an indexed equality can drive, a correlated EXISTS otherwise', () => {
    expect(compile('emails[type eq "work" and value co "@x"]').sql).toBe(
      'EXISTS (SELECT 1 FROM user_emails WHERE user_id = id AND (type_key = ? AND instr(value_key, ?) > 0))'
    )
    expect(compile('emails.value co "@x"').sql).toMatch(/^EXISTS/)
    expect(compile('emails[value eq "a@x" and type eq "work"]').sql).toMatch(/^id IN/)
  })

  it('keeps rows without the attribute under not (two-valued logic)', () => {
    expect(compile('not (title eq "x")').sql).toBe(
      'NOT COALESCE((coalesce(json_extract(data_key, ?), lower(json_extract(data, ?))) = ?), 0)'
    )
  })

  it('binds values and never splices them into SQL', () => {
    const q = compile(`userName eq "x' OR 1=1 --"`)
    expect(q.sql).toBe('user_name_key = ?')
    expect(q.params).toEqual(["x' or 1=1 --"])
  })

  it('uses instr/substr rather than LIKE', () => {
    expect(compile('userName co "ali"').sql).toBe('instr(user_name_key, ?) > 0')
    expect(compile('userName sw "ali"').sql).toBe('substr(user_name_key, 1, length(?)) = ?')
  })

  it('reads other attributes from the JSON document, case-insensitively through its folded copy where the schema says so', () => {
    // Folded in JavaScript on write and on the value alike; lower() only for rows written before data_key.
    expect(compile('name.familyName eq "ÉMILE"')).toEqual({
      sql: `coalesce(json_extract(data_key, ?), lower(json_extract(data, ?))) = ?`,
      params: ['$."name"."familyName"', '$."name"."familyName"', 'émile'],
    })
    expect(compile('externalId eq "AbC"')).toEqual({ sql: 'json_extract(data, ?) = ?', params: ['$."externalId"', 'AbC'] })
    expect(compile('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"').params[0]).toBe(
      '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"."department"'
    )
  })

  it('types booleans and dates by the schema', () => {
    expect(compile('active eq false')).toEqual({ sql: 'active = ?', params: [0] })
    expect(() => compile('active eq "yes"')).toThrow(/boolean/)
    expect(() => compile('meta.created gt "not a date"')).toThrow(/dateTime/)
  })

  it('refuses unknown attributes with invalidFilter', () => {
    expect(() => compile('shoeSize eq "9"')).toThrow(
      expect.objectContaining({ scimType: 'invalidFilter', detail: expect.stringContaining('shoeSize') })
    )
    expect(() => compile('password eq "x"')).toThrow(/cannot be used in a filter/)
  })
})
