import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ENTERPRISE, GROUP_SCHEMA, newIntegration, USER_SCHEMA } from '../helpers/http'

/*
 * OneLogin's SCIM Provisioner (JSON-template bodies, lower-case member ops) and Google Workspace
 * catalog-app provisioning (schema discovery, path-less suspend, a DELETE that can come much later):
 * shared/reference idp-and-sources.md §B3 and §B4.
 */

const stored = (id: string) =>
  env.DB.prepare('SELECT active, version FROM users WHERE id = ?').bind(id).first<{ active: number; version: number }>()

describe('OneLogin replay', () => {
  it('provisions from its JSON template, updates by PUT, manages groups with lower-case ops, deprovisions', async () => {
    const { scim } = await newIntegration()
    const template = (first: string, department: string) => ({
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'jane.doe@onelogin.example',
      name: { givenName: first, familyName: 'Doe' },
      emails: [{ value: 'jane.doe@onelogin.example', type: 'work', primary: true }],
      title: 'Engineer',
      [ENTERPRISE]: { department },
    })
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "jane.doe@onelogin.example"')}`)).body.totalResults).toBe(0)
    const created = await scim.post('/Users', template('Jane', 'R&D'))
    expect(created.status).toBe(201)
    const id = created.body.id

    const updated = await scim.put(`/Users/${id}`, template('Janet', 'Platform'))
    expect(updated.status).toBe(200)
    expect(updated.body).toMatchObject({ name: { givenName: 'Janet' }, [ENTERPRISE]: { department: 'Platform' }, active: true })

    const group = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'OneLogin Admins' })
    expect((await scim.patch(`/Groups/${group.body.id}`, [{ op: 'add', path: 'members', value: [{ value: id }] }])).status).toBe(204)
    expect((await scim.get(`/Users/${id}`)).body.groups).toHaveLength(1)
    expect((await scim.patch(`/Groups/${group.body.id}`, [{ op: 'remove', path: `members[value eq "${id}"]` }])).status).toBe(204)
    expect((await scim.get(`/Users/${id}`)).body.groups).toBeUndefined()

    const off = await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'active', value: false }])
    expect(off.body.active).toBe(false)
    expect(await stored(id)).toMatchObject({ active: 0 })
  })
})

describe('Google Workspace catalog-app replay', () => {
  it('reads the schema, creates, suspends with a path-less replace, and deletes later', async () => {
    const { scim } = await newIntegration()
    const schemas = await scim.get('/Schemas')
    expect(schemas.body.Resources.map((s: { id: string }) => s.id)).toContain(USER_SCHEMA)

    const created = await scim.post('/Users', {
      schemas: [USER_SCHEMA],
      userName: 'sam@workspace.example',
      name: { givenName: 'Sam', familyName: 'Lee' },
      emails: [{ value: 'sam@workspace.example', primary: true }],
      active: true,
      externalId: '103948572610394857261',
    })
    expect(created.status).toBe(201)
    const id = created.body.id

    const suspend = await scim.patch(`/Users/${id}`, [{ op: 'replace', value: { active: false } }])
    expect(suspend.status).toBe(200)
    expect(suspend.body.active).toBe(false)
    expect((await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "103948572610394857261"')}`)).body.Resources[0].active).toBe(
      false
    )

    // Unsuspend, suspend again, then the DELETE that arrives days later.
    await scim.patch(`/Users/${id}`, [{ op: 'replace', value: { active: true } }])
    await scim.patch(`/Users/${id}`, [{ op: 'replace', value: { active: false } }])
    expect(await stored(id)).toMatchObject({ active: 0, version: 4 })
    expect((await scim.delete(`/Users/${id}`)).status).toBe(204)
    expect(await stored(id)).toBeNull()
  })
})
