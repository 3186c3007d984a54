import { describe, expect, it } from 'vitest'
import { GROUP_SCHEMA, newIntegration, userBody, type Reply } from '../helpers/http'

/*
 * D1 rows written per SCIM write, as docs/writes.md accounts for them line by line. A new index,
 * trigger or statement on these paths changes a figure here, and the document with it.
 */
const written = (r: Reply) => Number(r.headers.get('x-d1-rows-written'))

describe('rows written per write (docs/writes.md)', () => {
  it('users', async () => {
    const { scim } = await newIntegration()
    const ada = await scim.post('/Users', userBody('ada@rows.example', { emails: [{ value: 'ada@rows.example', type: 'work' }] }))
    expect(written(ada)).toBe(17)
    expect(written(await scim.post('/Users', userBody('bob@rows.example')))).toBe(15)
    const id = ada.body.id
    expect(written(await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'title', value: 'Countess' }]))).toBe(4)
    expect(written(await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'displayName', value: 'Ada' }]))).toBe(7)
    expect(written(await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'active', value: false }]))).toBe(8)
    const put = await scim.put(
      `/Users/${id}`,
      userBody('ada@rows.example', {
        displayName: 'Ada',
        active: false,
        emails: [{ value: 'ada@rows.example', type: 'work' }],
        title: 'Analyst',
      })
    )
    expect(written(put)).toBe(4)
  })

  it('groups and members', async () => {
    const { scim } = await newIntegration()
    const user = (await scim.post('/Users', userBody('grace@rows.example'))).body
    const group = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Rows' })
    expect(written(group)).toBe(10)
    expect(written(await scim.patch(`/Groups/${group.body.id}`, [{ op: 'add', path: 'members', value: [{ value: user.id }] }]))).toBe(7)
    expect(written(await scim.patch(`/Groups/${group.body.id}`, [{ op: 'remove', path: `members[value eq "${user.id}"]` }]))).toBe(6)
  })
})
