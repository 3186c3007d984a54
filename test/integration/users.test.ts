import { beforeEach, describe, expect, it } from 'vitest'
import { ENTERPRISE, ERROR_SCHEMA, newIntegration, ORIGIN, USER_SCHEMA, userBody, type ScimClient } from '../helpers/http'

let scim: ScimClient
beforeEach(async () => {
  ;({ scim } = await newIntegration())
})

const full = {
  schemas: [USER_SCHEMA, ENTERPRISE],
  userName: 'Barbara.Jensen@Example.com',
  externalId: 'ext-1',
  name: {
    formatted: 'Ms. Barbara J Jensen III',
    familyName: 'Jensen',
    givenName: 'Barbara',
    middleName: 'Jane',
    honorificPrefix: 'Ms.',
    honorificSuffix: 'III',
  },
  displayName: 'Babs Jensen',
  nickName: 'Babs',
  profileUrl: 'https://login.example.com/bjensen',
  title: 'Tour Guide',
  userType: 'Employee',
  preferredLanguage: 'en-US',
  locale: 'en-US',
  timezone: 'America/Los_Angeles',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  phoneNumbers: [{ value: '555-555-5555', type: 'work' }],
  addresses: [
    {
      type: 'work',
      streetAddress: '100 Universal City Plaza',
      locality: 'Hollywood',
      region: 'CA',
      postalCode: '91608',
      country: 'US',
      primary: true,
    },
  ],
  photos: [{ value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', type: 'photo' }],
  [ENTERPRISE]: {
    employeeNumber: '701984',
    costCenter: '4130',
    organization: 'Universal Studios',
    division: 'Theme Park',
    department: 'Tour Operations',
    manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d' },
  },
  password: 't1meMa$heen',
}

describe('Users', () => {
  it('creates a user and returns what was sent, with server-owned id and meta', async () => {
    const res = await scim.post('/Users', full)
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/scim+json')
    const { password: _password, ...expected } = full
    expect(res.body).toMatchObject(expected)
    expect(res.body.password).toBeUndefined()
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.body.meta).toEqual({
      resourceType: 'User',
      created: expect.any(String),
      lastModified: res.body.meta.created,
      location: `${ORIGIN}/scim/v2/Users/${res.body.id}`,
      version: 'W/"1"',
    })
    expect(res.headers.get('location')).toBe(res.body.meta.location)
    expect(res.headers.get('etag')).toBe('W/"1"')

    const got = await scim.get(`/Users/${res.body.id}`)
    expect(got.status).toBe(200)
    expect(got.body).toEqual(res.body)
  })

  it('treats a user created without "active" as active', async () => {
    const res = await scim.post('/Users', userBody('noactive@example.com'))
    expect(res.body.active).toBe(true)
  })

  it('refuses a duplicate userName, compared case-insensitively, with 409 uniqueness', async () => {
    await scim.post('/Users', userBody('dup@example.com'))
    const res = await scim.post('/Users', userBody('DUP@Example.COM'))
    expect(res.status).toBe(409)
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '409', scimType: 'uniqueness' })
    expect(res.body.detail).toContain('DUP@Example.COM')
  })

  it('archives with active=false and keeps the user readable and listed', async () => {
    const { body: u } = await scim.post('/Users', userBody('arch@example.com'))
    const patched = await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'active', value: false }])
    expect(patched.status).toBe(200)
    expect(patched.body.active).toBe(false)
    expect(patched.body.meta.version).toBe('W/"2"')
    expect((await scim.get(`/Users/${u.id}`)).body.active).toBe(false)
    const list = await scim.get('/Users?filter=userName eq "arch@example.com"')
    expect(list.body.Resources.map((r: { id: string }) => r.id)).toEqual([u.id])
    const restored = await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'active', value: true }])
    expect(restored.body.active).toBe(true)
  })

  it('replaces a user with PUT, keeping id and created, ignoring read-only attributes', async () => {
    const { body: u } = await scim.post('/Users', full)
    const res = await scim.put(`/Users/${u.id}`, {
      schemas: [USER_SCHEMA],
      id: 'ignored',
      userName: 'barbara@example.com',
      title: 'Boss',
      active: true,
      groups: [],
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: u.id, userName: 'barbara@example.com', title: 'Boss' })
    expect(res.body.name).toBeUndefined()
    expect(res.body.emails).toBeUndefined()
    expect(res.body.meta.created).toBe(u.meta.created)
    expect(res.body.meta.version).toBe('W/"2"')
    // The old email no longer finds the user; the index followed the replace.
    expect((await scim.get('/Users?filter=emails.value eq "bjensen@example.com"')).body.totalResults).toBe(0)
  })

  it('moves the email index with the emails on PUT and PATCH', async () => {
    const { body: u } = await scim.post('/Users', userBody('mail@example.com', { emails: [{ value: 'old@example.com', type: 'work' }] }))
    await scim.put(
      `/Users/${u.id}`,
      userBody('mail@example.com', {
        emails: [
          { value: 'new@example.com', type: 'work' },
          { value: 'alt@example.com', type: 'home' },
        ],
      })
    )
    const find = async (filter: string) => (await scim.get(`/Users?filter=${encodeURIComponent(filter)}`)).body.totalResults
    expect(await find('emails.value eq "old@example.com"')).toBe(0)
    expect(await find('emails[type eq "work"].value eq "new@example.com"')).toBe(1)
    expect(await find('emails[type eq "home"].value eq "alt@example.com"')).toBe(1)
    await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'newest@example.com' }])
    expect(await find('emails[type eq "work"].value eq "new@example.com"')).toBe(0)
    expect(await find('emails[type eq "work"].value eq "newest@example.com"')).toBe(1)
  })

  it('loses no update when two PATCHes race', async () => {
    const { body: u } = await scim.post('/Users', userBody('race@example.com'))
    const results = await Promise.all([
      scim.patch(`/Users/${u.id}`, [{ op: 'add', path: 'title', value: 'T' }]),
      scim.patch(`/Users/${u.id}`, [{ op: 'add', path: 'nickName', value: 'N' }]),
    ])
    expect(results.map((r) => r.status)).toEqual([200, 200])
    const after = await scim.get(`/Users/${u.id}`)
    expect(after.body).toMatchObject({ title: 'T', nickName: 'N', meta: { version: 'W/"3"' } })
  })

  it('keeps "active" when a PUT leaves it out', async () => {
    const { body: u } = await scim.post('/Users', userBody('keep@example.com', { active: false }))
    const res = await scim.put(`/Users/${u.id}`, userBody('keep@example.com', { title: 'x' }))
    expect(res.body.active).toBe(false)
  })

  it("refuses a PUT or PATCH that takes another user's userName", async () => {
    await scim.post('/Users', userBody('one@example.com'))
    const { body: two } = await scim.post('/Users', userBody('two@example.com'))
    expect((await scim.put(`/Users/${two.id}`, userBody('ONE@example.com'))).status).toBe(409)
    expect((await scim.patch(`/Users/${two.id}`, [{ op: 'replace', path: 'userName', value: 'one@example.com' }])).body.scimType).toBe(
      'uniqueness'
    )
    expect((await scim.get(`/Users/${two.id}`)).body.userName).toBe('two@example.com')
  })

  it('does not write when a PATCH changes nothing', async () => {
    const { body: u } = await scim.post('/Users', userBody('same@example.com', { title: 'T' }))
    const res = await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'T' }])
    expect(res.status).toBe(200)
    expect(res.body.meta.version).toBe('W/"1"')
    expect(res.headers.get('x-d1-rows-written')).toBe('0')
  })

  it('leaves the user untouched when one operation of a PATCH fails', async () => {
    const { body: u } = await scim.post('/Users', userBody('atomic@example.com', { title: 'Before' }))
    const res = await scim.patch(`/Users/${u.id}`, [
      { op: 'replace', path: 'title', value: 'After' },
      { op: 'replace', path: 'nonsense', value: 1 },
    ])
    expect(res.status).toBe(400)
    expect(res.body.scimType).toBe('invalidPath')
    const after = await scim.get(`/Users/${u.id}`)
    expect(after.body.title).toBe('Before')
    expect(after.body.meta.version).toBe('W/"1"')
  })

  it('deletes a user: 204, then 404', async () => {
    const { body: u } = await scim.post('/Users', userBody('del@example.com'))
    expect((await scim.delete(`/Users/${u.id}`)).status).toBe(204)
    const res = await scim.get(`/Users/${u.id}`)
    expect(res.status).toBe(404)
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' })
    expect((await scim.delete(`/Users/${u.id}`)).status).toBe(404)
    expect((await scim.put(`/Users/${u.id}`, userBody('x'))).status).toBe(404)
    expect((await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'x' }])).status).toBe(404)
  })

  it('applies attributes and excludedAttributes on reads and on write responses', async () => {
    const created = await scim.post('/Users?attributes=userName', full)
    expect(Object.keys(created.body).sort()).toEqual(['id', 'schemas', 'userName'])
    const got = await scim.get(`/Users/${created.body.id}?excludedAttributes=emails,name,${ENTERPRISE}:manager`)
    expect(got.body.emails).toBeUndefined()
    expect(got.body.name).toBeUndefined()
    expect(got.body[ENTERPRISE]).toEqual({
      employeeNumber: '701984',
      costCenter: '4130',
      organization: 'Universal Studios',
      division: 'Theme Park',
      department: 'Tour Operations',
    })
    expect(got.body.userName).toBe(full.userName)
  })
})

describe('Users: list and filter', () => {
  let ids: string[]
  beforeEach(async () => {
    ids = []
    for (let i = 0; i < 5; i++) {
      const res = await scim.post(
        '/Users',
        userBody(`User${i}@Example.com`, {
          externalId: `ext-${i}`,
          displayName: `User ${i}`,
          emails: [
            { value: `u${i}@work.example`, type: 'work', primary: true },
            { value: `u${i}@home.example`, type: 'home' },
          ],
        })
      )
      ids.push(res.body.id)
    }
    ids.sort()
  })

  it('lists everyone in a stable order with correct paging fields', async () => {
    const all = await scim.get('/Users')
    expect(all.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 5,
      itemsPerPage: 5,
      startIndex: 1,
    })
    expect(all.body.Resources.map((r: { id: string }) => r.id)).toEqual(ids)
    const page2 = await scim.get('/Users?startIndex=3&count=2')
    expect(page2.body).toMatchObject({ totalResults: 5, itemsPerPage: 2, startIndex: 3 })
    expect(page2.body.Resources.map((r: { id: string }) => r.id)).toEqual(ids.slice(2, 4))
    const last = await scim.get('/Users?startIndex=5&count=2')
    expect(last.body).toMatchObject({ totalResults: 5, itemsPerPage: 1 })
    const beyond = await scim.get('/Users?startIndex=9')
    expect(beyond.body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] })
    const none = await scim.get('/Users?count=0')
    expect(none.body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] })
    const clamped = await scim.get('/Users?startIndex=-4&count=1')
    expect(clamped.body).toMatchObject({ startIndex: 1, itemsPerPage: 1 })
  })

  it.each([
    ['userName eq "user3@example.com"', 1],
    ['userName eq "USER3@EXAMPLE.COM"', 1],
    ['externalId eq "ext-2"', 1],
    ['externalId eq "EXT-2"', 0],
    ['emails.value eq "U4@Work.Example"', 1],
    ['emails[type eq "work"].value eq "u1@work.example"', 1],
    ['emails[type eq "work"].value eq "u1@home.example"', 0],
    ['displayName eq "user 0"', 1],
    ['userName eq "user1@example.com" and externalId eq "ext-1"', 1],
    ['userName eq "user1@example.com" and externalId eq "ext-2"', 0],
    ['userName eq "nobody@example.com"', 0],
  ])('filters %s', async (filter, expected) => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`)
    expect(res.status).toBe(200)
    expect(res.body.totalResults).toBe(expected)
    expect(res.body.Resources).toHaveLength(expected)
    expect(res.body.itemsPerPage).toBe(expected)
  })

  it('counts totalResults for a filter across pages', async () => {
    const f = encodeURIComponent('userName sw "USER"')
    expect((await scim.get(`/Users?filter=${f}&count=2`)).body).toMatchObject({ totalResults: 5, itemsPerPage: 2 })
    expect((await scim.get(`/Users?filter=${f}&startIndex=5&count=2`)).body).toMatchObject({ totalResults: 5, itemsPerPage: 1 })
    expect((await scim.get(`/Users?filter=${f}&startIndex=9`)).body).toMatchObject({ totalResults: 5, itemsPerPage: 0 })
    expect((await scim.get(`/Users?filter=${f}&count=0`)).body).toMatchObject({ totalResults: 5, itemsPerPage: 0 })
  })

  it.each([
    ['NAME.familyname pr', 0],
    ['emails.Value eq "u2@work.example"', 1],
    ['Emails[Type eq "WORK"].VALUE eq "u3@work.example"', 1],
    ['meta.Created gt 2015-10-10T14:38:21.86-07:00', 5],
    ['meta.lastModified lt "2015-01-01T00:00:00Z"', 0],
    ['userName sw USER', 5],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user4@example.com"', 1],
    ['(userName eq "user0@example.com" or userName eq "user1@example.com") and not (externalId eq "ext-1")', 1],
    ['emails[type eq "work" and value co "@work"]', 5],
    ['active eq true and userName ne "user0@example.com"', 4],
  ])('accepts the liberal spellings Entra-style test tools send: %s', async (filter, expected) => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`)
    expect(res.status).toBe(200)
    expect(res.body.totalResults).toBe(expected)
  })

  it('filters by id', async () => {
    const res = await scim.get(`/Users?filter=id eq "${ids[2]}"`)
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids[2]])
  })

  it('answers a filter with an unknown attribute or bad syntax with 400 invalidFilter', async () => {
    for (const filter of ['shoeSize eq "9"', 'userName eq', 'userName eq "a" and (', 'active eq "yes"']) {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`)
      expect(res.status, filter).toBe(400)
      expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '400', scimType: 'invalidFilter' })
    }
  })

  it('answers non-integer paging with 400', async () => {
    const res = await scim.get('/Users?startIndex=abc')
    expect(res.status).toBe(400)
    expect(res.body.detail).toContain('startIndex')
  })
})

describe('Users: re-provisioning', () => {
  it('restores an archived user on a POST with its userName, keeping its id and groups', async () => {
    const { body: u } = await scim.post('/Users', userBody('rehire@example.com', { externalId: '00u-old', title: 'Old title' }))
    const { body: g } = await scim.post('/Groups', { displayName: 'Keepers', members: [{ value: u.id }] })
    await scim.patch(`/Users/${u.id}`, [{ op: 'replace', value: { active: false } }])

    const again = await scim.post('/Users', userBody('REHIRE@example.com', { externalId: '00u-new', active: true }))
    expect(again.status).toBe(201)
    expect(again.body).toMatchObject({
      id: u.id,
      userName: 'REHIRE@example.com',
      externalId: '00u-new',
      active: true,
      meta: { created: u.meta.created, version: 'W/"3"' },
    })
    expect(again.body.title).toBeUndefined()
    expect(again.body.groups.map((x: { value: string }) => x.value)).toEqual([g.id])
    expect((await scim.get('/Users')).body.totalResults).toBe(1)
  })

  it('answers a repeated POST for an active user with 409 and creates nothing', async () => {
    await scim.post('/Users', userBody('twice@example.com'))
    const retry = await scim.post('/Users', userBody('twice@example.com'))
    expect(retry.status).toBe(409)
    expect(retry.body.scimType).toBe('uniqueness')
    expect((await scim.get('/Users')).body.totalResults).toBe(1)
  })
})
