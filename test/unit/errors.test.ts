import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { invalidSyntax, parseWith } from '../../src/scim/errors'
import { scimError as failure } from '../helpers/scim-error'
import { parsePatchRequest } from '../../src/scim/patch'
import { parseListQuery } from '../../src/scim/list-query'

describe('the zod-to-SCIM adapter', () => {
  it('names the failing field, with array indexes, under the given root', () => {
    const schema = z.object({ a: z.array(z.object({ b: z.string({ error: 'must be a string.' }) })) })
    const e = failure(() => parseWith(schema, { a: [{ b: 'x' }, { b: 1 }] }, invalidSyntax, 'Operations[3]'))
    expect(e).toMatchObject({ status: 400, scimType: 'invalidSyntax', detail: 'Operations[3].a[1].b: must be a string.' })
    expect(failure(() => parseWith(z.string(), 1)).detail).toMatch(/^body: /)
  })

  it('is what PATCH and list queries report, naming the field', () => {
    expect(failure(() => parsePatchRequest({ Operations: [{ op: 'add' }, { op: 'move' }] })).detail).toBe(
      'Operations[1].op: must be add, replace or remove.'
    )
    expect(failure(() => parseListQuery({ count: 'ten' })).detail).toBe('count: must be an integer.')
  })
})
