import { describe, expect, it } from 'vitest'
import { newIntegration, userBody } from '../helpers/http'

describe('a token sees only its own integration', () => {
  it("cannot read, list, change or delete another integration's users and groups", async () => {
    const a = await newIntegration()
    const b = await newIntegration()
    const { body: ua } = await a.scim.post('/Users', userBody('shared@example.com', { externalId: 'x1' }))
    const { body: ga } = await a.scim.post('/Groups', { displayName: 'Shared', members: [{ value: ua.id }] })

    // The same names are free in another integration.
    const { body: ub } = await b.scim.post('/Users', userBody('shared@example.com', { externalId: 'x1' }))
    expect(ub.id).not.toBe(ua.id)
    expect((await b.scim.post('/Groups', { displayName: 'Shared' })).status).toBe(201)

    expect((await b.scim.get(`/Users/${ua.id}`)).status).toBe(404)
    expect((await b.scim.get(`/Groups/${ga.id}`)).status).toBe(404)
    expect((await b.scim.put(`/Users/${ua.id}`, userBody('hijack@example.com'))).status).toBe(404)
    expect((await b.scim.patch(`/Users/${ua.id}`, [{ op: 'replace', path: 'active', value: false }])).status).toBe(404)
    expect((await b.scim.patch(`/Groups/${ga.id}`, [{ op: 'remove', path: 'members' }])).status).toBe(404)
    expect((await b.scim.delete(`/Users/${ua.id}`)).status).toBe(404)
    expect((await b.scim.delete(`/Groups/${ga.id}`)).status).toBe(404)

    const listed = await b.scim.get('/Users?filter=userName eq "shared@example.com"')
    expect(listed.body.Resources.map((r: { id: string }) => r.id)).toEqual([ub.id])
    expect((await b.scim.get(`/Users?filter=id eq "${ua.id}"`)).body.totalResults).toBe(0)
    expect((await b.scim.get('/Users')).body.totalResults).toBe(1)

    // Nor can it make another integration's user a member of its groups.
    const cross = await b.scim.post('/Groups', { displayName: 'Cross', members: [{ value: ua.id }] })
    expect(cross.status).toBe(400)

    // a's data is intact.
    const after = await a.scim.get(`/Users/${ua.id}`)
    expect(after.body).toMatchObject({ userName: 'shared@example.com', active: true })
    expect(after.body.groups.map((g: { value: string }) => g.value)).toEqual([ga.id])
  })
})
