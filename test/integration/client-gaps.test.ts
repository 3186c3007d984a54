import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import {
  call,
  ENTERPRISE,
  ERROR_SCHEMA,
  GROUP_SCHEMA,
  newIntegration,
  ORIGIN,
  PATCH_OP,
  USER_SCHEMA,
  userBody,
  type Json,
} from '../helpers/http'

/*
 * Requests that third-party SCIM clients, test collections and hostile callers send, each replayed
 * as sent (docs/conformance.md, "Client requests that used to fail").
 */

const error = (status: number, scimType?: string) => ({
  schemas: [ERROR_SCHEMA],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail: expect.any(String),
})
const countUsers = async (integrationId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM users WHERE integration_id = ?').bind(integrationId).first<{ n: number }>())!.n

describe('resource paths in any case', () => {
  it("answers Microsoft's test collection on /users and every other spelling, writing canonical locations", async () => {
    const { token, scim } = await newIntegration()
    const { body: u } = await scim.post('/Users', userBody('case@example.com'))
    for (const path of ['/users', '/USERS', '/uSeRs']) {
      const res = await call('GET', `/scim/v2${path}?filter=${encodeURIComponent('userName eq "case@example.com"')}`, { token })
      expect(res.status).toBe(200)
      expect(res.body.Resources[0].meta.location).toBe(`${ORIGIN}/scim/v2/Users/${u.id}`)
    }
    const one = await call('GET', `/scim/v2/users/${u.id}`, { token })
    expect(one.status).toBe(200)
    expect(one.body.meta.location).toBe(`${ORIGIN}/scim/v2/Users/${u.id}`)

    const created = await call('POST', '/scim/v2/groups', {
      token,
      body: { schemas: [GROUP_SCHEMA], displayName: 'Lower', members: [{ value: u.id }] },
    })
    expect(created.status).toBe(201)
    expect(created.headers.get('location')).toBe(`${ORIGIN}/scim/v2/Groups/${created.body.id}`)
    expect(created.body.members[0].$ref).toBe(`${ORIGIN}/scim/v2/Users/${u.id}`)
    expect((await call('GET', `/scim/v2/GROUPS/${created.body.id}`, { token })).status).toBe(200)

    const search = await call('POST', '/scim/v2/users/.search', {
      token,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName sw "case"' },
    })
    expect(search.status).toBe(200)
    expect(search.body.totalResults).toBe(1)
    expect((await call('POST', '/scim/v2/Groups/.SEARCH', { token, body: { filter: 'displayName eq "Lower"' } })).body.totalResults).toBe(1)

    const bulk = await call('POST', '/scim/v2/bulk', {
      token,
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'POST', bulkId: 'b1', path: '/users', data: userBody('bulk-lower@example.com') }],
      },
    })
    expect(bulk.status).toBe(200)
    expect(bulk.body.Operations[0]).toMatchObject({
      status: '201',
      location: expect.stringMatching(new RegExp(`^${ORIGIN}/scim/v2/Users/`)),
    })
  })

  it('serves discovery in any case, without a token', async () => {
    for (const path of [
      '/schemas',
      '/SCHEMAS',
      '/resourcetypes',
      '/resourceTypes/user',
      '/serviceproviderconfig',
      '/SERVICEPROVIDERCONFIG',
    ]) {
      const res = await call('GET', `/scim/v2${path}`)
      expect(res.status, path).toBe(200)
    }
    expect((await call('GET', '/scim/v2/serviceproviderconfig')).body.meta.location).toBe(`${ORIGIN}/scim/v2/ServiceProviderConfig`)
    // Ids stay case-exact: an unknown endpoint is still a SCIM 404.
    expect((await call('GET', '/scim/v2/people')).body).toEqual(error(404))
  })
})

describe('attributes the schema does not define', () => {
  it('ignores a misspelt core attribute on PUT and POST: 200/201, neither stored nor echoed', async () => {
    const { scim } = await newIntegration()
    const created = await scim.post(
      '/Users',
      userBody('misspelt@example.com', { adreses: [{ streetAddress: '1 Main St' }], name: { givenName: 'A', nickname: 'x' } })
    )
    expect(created.status).toBe(201)
    expect(created.body.adreses).toBeUndefined()
    expect(created.body.name).toEqual({ givenName: 'A' })
    const put = await scim.put(`/Users/${created.body.id}`, {
      schemas: [USER_SCHEMA],
      userName: 'misspelt@example.com',
      adreses: [{ streetAddress: '2 Main St', type: 'work' }],
      emails: [{ value: 'a@example.com', type: 'work', primary: true, verified: true }],
    })
    expect(put.status).toBe(200)
    expect(put.body.adreses).toBeUndefined()
    expect(put.body.emails).toEqual([{ value: 'a@example.com', type: 'work', primary: true }])
    const stored = await env.DB.prepare('SELECT data FROM users WHERE id = ?').bind(created.body.id).first<{ data: string }>()
    expect(stored!.data).not.toContain('adreses')
    expect(stored!.data).not.toContain('verified')
    expect((await scim.get(`/Users/${created.body.id}`)).body).toEqual(put.body)
  })

  it('keeps refusing filters on unknown attributes and PATCH paths naming them', async () => {
    const { scim } = await newIntegration()
    const { body: u } = await scim.post('/Users', userBody('strict@example.com'))
    expect((await scim.get(`/Users?filter=${encodeURIComponent('adreses pr')}`)).body).toEqual(error(400, 'invalidFilter'))
    expect((await scim.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'adreses', value: 'x' }])).body).toEqual(error(400, 'invalidPath'))
  })
})

describe('JSON types', () => {
  it('refuses a number where a string is required, naming the attribute, and stores nothing', async () => {
    const { id, scim } = await newIntegration()
    const res = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: 42 })
    expect(res.body).toEqual(error(400, 'invalidValue'))
    expect(res.body.detail).toContain('"userName"')
    expect(await countUsers(id)).toBe(0)
    const obj = await scim.post('/Users', userBody('t@example.com', { displayName: { text: 'x' } }))
    expect(obj.body.detail).toContain('"displayName" must be a string, not an object')
    const arr = await scim.post('/Users', userBody('t@example.com', { title: ['a'] }))
    expect(arr.body).toEqual(error(400, 'invalidValue'))
    const bool = await scim.post('/Users', userBody('t@example.com', { active: { value: true } }))
    expect(bool.body.detail).toContain('"active" must be a boolean')
  })

  it("keeps Entra's string booleans", async () => {
    const { scim } = await newIntegration()
    const res = await scim.post('/Users', userBody('bool@example.com', { active: 'False' }))
    expect(res.status).toBe(201)
    expect(res.body.active).toBe(false)
    const { body: u } = await scim.post('/Users', userBody('bool2@example.com'))
    expect((await scim.patch(`/Users/${u.id}`, [{ op: 'Replace', path: 'active', value: 'FALSE' }])).body.active).toBe(false)
  })
})

describe('group members', () => {
  it('carry value, $ref, type and display after a member is added', async () => {
    const { scim } = await newIntegration()
    const { body: named } = await scim.post('/Users', userBody('named@example.com', { displayName: 'Named Person' }))
    const { body: bare } = await scim.post('/Users', userBody('bare@example.com'))
    const { body: g } = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'With display' })
    expect(
      (await scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: named.id }, { value: bare.id }] }])).status
    ).toBe(204)
    const got = await scim.get(`/Groups/${g.id}`)
    const byId = (id: string) => got.body.members.find((m: Json) => m.value === id)
    expect(byId(named.id)).toEqual({ value: named.id, $ref: `${ORIGIN}/scim/v2/Users/${named.id}`, type: 'User', display: 'Named Person' })
    expect(byId(bare.id)).toEqual({ value: bare.id, $ref: `${ORIGIN}/scim/v2/Users/${bare.id}`, type: 'User', display: 'bare@example.com' })
    const listed = await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "With display"')}`)
    expect(listed.body.Resources[0].members).toEqual(got.body.members)
  })
})

describe('served schemas', () => {
  // RFC 7643 §7: the characteristics every attribute definition carries.
  const REQUIRED = ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness']
  const problems = (attrs: Json[], where: string): string[] =>
    attrs.flatMap((a: Json) => [
      ...REQUIRED.filter((k) => a[k] === undefined).map((k) => `${where}.${a.name}: no ${k}`),
      ...(a.type === 'reference' && !(Array.isArray(a.referenceTypes) && a.referenceTypes.length > 0)
        ? [`${where}.${a.name}: reference without referenceTypes`]
        : []),
      ...(a.type === 'complex' && !Array.isArray(a.subAttributes) ? [`${where}.${a.name}: complex without subAttributes`] : []),
      ...(a.subAttributes ? problems(a.subAttributes, `${where}.${a.name}`) : []),
    ])

  it('declare every characteristic RFC 7643 §7 requires, referenceTypes on every reference (photos.value included)', async () => {
    const { body } = await call('GET', '/scim/v2/Schemas')
    expect(body.Resources.length).toBeGreaterThan(0)
    expect(body.Resources.flatMap((s: Json) => problems(s.attributes, s.id))).toEqual([])
    const user = body.Resources.find((s: Json) => s.id === USER_SCHEMA)
    const photos = user.attributes.find((a: Json) => a.name === 'photos')
    expect(photos.subAttributes.find((a: Json) => a.name === 'value').referenceTypes).toEqual(['external'])
  })

  it('ServiceProviderConfig has only attributes RFC 7643 §5 or RFC 9865 define at its top level', async () => {
    const { body } = await call('GET', '/scim/v2/ServiceProviderConfig')
    const defined = [
      'schemas',
      'documentationUri',
      'patch',
      'bulk',
      'filter',
      'changePassword',
      'sort',
      'etag',
      'authenticationSchemes',
      'meta',
      'pagination',
    ]
    expect(Object.keys(body).filter((k) => !defined.includes(k))).toEqual([])
    expect(body.bulk.maxPayloadSize).toBe(1048576)
  })
})

describe('core attributes keyed by the core schema URN', () => {
  it('are taken on POST and PUT of Users and Groups as if sent at the top level', async () => {
    const { scim } = await newIntegration()
    const created = await scim.post('/Users', {
      schemas: [USER_SCHEMA],
      [USER_SCHEMA]: { userName: 'nested@example.com', name: { givenName: 'Nes', familyName: 'Ted' } },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ userName: 'nested@example.com', name: { givenName: 'Nes', familyName: 'Ted' } })
    expect(created.body[USER_SCHEMA]).toBeUndefined()
    const put = await scim.put(`/Users/${created.body.id}`, {
      schemas: [USER_SCHEMA],
      [USER_SCHEMA]: { userName: 'nested@example.com', title: 'Boss' },
    })
    expect(put.status).toBe(200)
    expect(put.body).toMatchObject({ userName: 'nested@example.com', title: 'Boss' })

    const group = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      [GROUP_SCHEMA]: { displayName: 'Nested group', members: [{ value: created.body.id }] },
    })
    expect(group.status).toBe(201)
    expect(group.body).toMatchObject({ displayName: 'Nested group', members: [{ value: created.body.id }] })
    const groupPut = await scim.put(`/Groups/${group.body.id}`, {
      schemas: [GROUP_SCHEMA],
      [GROUP_SCHEMA]: { displayName: 'Renamed nested' },
    })
    expect(groupPut.body.displayName).toBe('Renamed nested')
  })

  it('refuse a conflict between both spellings', async () => {
    const { id, scim } = await newIntegration()
    const res = await scim.post('/Users', {
      schemas: [USER_SCHEMA],
      userName: 'a@example.com',
      [USER_SCHEMA]: { userName: 'b@example.com' },
    })
    expect(res.body).toEqual(error(400, 'invalidValue'))
    expect(await countUsers(id)).toBe(0)
  })
})

describe("the enterprise manager as a bare id (Entra's default mapping, OneLogin)", () => {
  it('is taken as {value} on PATCH with and without a path, POST and PUT', async () => {
    const { scim } = await newIntegration()
    const { body: boss } = await scim.post('/Users', userBody('boss@example.com'))
    const { body: u } = await scim.post('/Users', {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'staff@example.com',
      [ENTERPRISE]: { manager: boss.id },
    })
    expect(u[ENTERPRISE].manager).toEqual({ value: boss.id })
    const add = await scim.patch(`/Users/${u.id}`, [
      { op: 'Add', path: `${ENTERPRISE}:manager`, value: '2819c223-7f76-453a-919d-413861904646' },
    ])
    expect(add.status).toBe(200)
    expect(add.body[ENTERPRISE].manager).toEqual({ value: '2819c223-7f76-453a-919d-413861904646' })
    const replace = await scim.patch(`/Users/${u.id}`, [{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: boss.id }])
    expect(replace.body[ENTERPRISE].manager).toEqual({ value: boss.id })
    const pathless = await scim.patch(`/Users/${u.id}`, [{ op: 'replace', value: { [`${ENTERPRISE}:manager`]: 'm-3' } }])
    expect(pathless.body[ENTERPRISE].manager).toEqual({ value: 'm-3' })
    // OneLogin's PUT.
    const put = await scim.put(`/Users/${u.id}`, {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'staff@example.com',
      [ENTERPRISE]: { manager: boss.id, department: 'Ops' },
    })
    expect(put.status).toBe(200)
    expect(put.body[ENTERPRISE]).toEqual({ manager: { value: boss.id }, department: 'Ops' })
  })
})

describe('PATCH paths that are an extension schema URN', () => {
  it('replace the whole extension, merge on add, and remove it with its URN from schemas', async () => {
    const { scim } = await newIntegration()
    const { body: u } = await scim.post('/Users', {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'ext@example.com',
      [ENTERPRISE]: { costCenter: 'C1', division: 'D' },
    })
    const replaced = await scim.patch(`/Users/${u.id}`, [
      { op: 'replace', path: ENTERPRISE, value: { department: 'X', employeeNumber: '7' } },
    ])
    expect(replaced.status).toBe(200)
    expect(replaced.body[ENTERPRISE]).toEqual({ department: 'X', employeeNumber: '7' })
    const added = await scim.patch(`/Users/${u.id}`, [{ op: 'add', path: ENTERPRISE, value: { costCenter: 'C2' } }])
    expect(added.body[ENTERPRISE]).toEqual({ department: 'X', employeeNumber: '7', costCenter: 'C2' })
    expect(added.body.schemas).toEqual([USER_SCHEMA, ENTERPRISE])
    const removed = await scim.patch(`/Users/${u.id}`, [{ op: 'remove', path: ENTERPRISE }])
    expect(removed.status).toBe(200)
    expect(removed.body[ENTERPRISE]).toBeUndefined()
    expect(removed.body.schemas).toEqual([USER_SCHEMA])
    expect((await scim.get(`/Users/${u.id}`)).body.schemas).toEqual([USER_SCHEMA])
  })
})

describe('empty multi-valued attributes', () => {
  it('are omitted from groups whose members were all removed and users whose emails were, in reads and lists', async () => {
    const { scim } = await newIntegration()
    const { body: u } = await scim.post('/Users', userBody('empty@example.com', { emails: [{ value: 'empty@example.com', type: 'work' }] }))
    const { body: g } = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Emptied', members: [{ value: u.id }] })
    expect((await scim.patch(`/Groups/${g.id}`, [{ op: 'remove', path: 'members' }])).status).toBe(204)
    const group = await scim.get(`/Groups/${g.id}`)
    expect(group.status).toBe(200)
    expect('members' in group.body).toBe(false)
    const groups = await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "Emptied"')}`)
    expect('members' in groups.body.Resources[0]).toBe(false)

    const patched = await scim.patch(`/Users/${u.id}`, [{ op: 'remove', path: 'emails[type eq "work"]' }])
    expect('emails' in patched.body).toBe(false)
    expect('emails' in (await scim.get(`/Users/${u.id}`)).body).toBe(false)
    const users = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "empty@example.com"')}`)
    expect('emails' in users.body.Resources[0]).toBe(false)
    expect('groups' in users.body.Resources[0]).toBe(false)
    // An empty member list in a PUT still clears the group, and the group then shows none.
    const { body: g2 } = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Cleared by PUT', members: [{ value: u.id }] })
    const cleared = await scim.put(`/Groups/${g2.id}`, { schemas: [GROUP_SCHEMA], displayName: 'Cleared by PUT', members: [] })
    expect(cleared.status).toBe(200)
    expect('members' in cleared.body).toBe(false)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM group_members WHERE group_id = ?').bind(g2.id).first<{ n: number }>()).toEqual({
      n: 0,
    })
    // Sent empty, never stored empty.
    const put = await scim.put(`/Users/${u.id}`, userBody('empty@example.com', { phoneNumbers: [], emails: [] }))
    expect('phoneNumbers' in put.body).toBe(false)
  })
})

describe('hostile input', () => {
  it('answers a Bulk whose data nests 10,000 arrays deep with 400, not a stack overflow', async () => {
    const { id, token } = await newIntegration()
    const deep = '['.repeat(10_000) + ']'.repeat(10_000)
    const raw = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","bulkId":"x","path":"/Users","data":{"userName":"deep","x":${deep}}}]}`
    expect(raw.length).toBeGreaterThan(20_000)
    const res = await call('POST', '/scim/v2/Bulk', { token, raw, headers: { 'content-type': 'application/scim+json' } })
    expect(res.body).toEqual(error(400, 'invalidSyntax'))
    expect(res.body.detail).toContain('levels deep')
    expect(await countUsers(id)).toBe(0)
    // The same bound on a single endpoint.
    const single = await call('POST', '/scim/v2/Users', {
      token,
      raw: `{"userName":"deep","x":${deep}}`,
      headers: { 'content-type': 'application/scim+json' },
    })
    expect(single.body).toEqual(error(400, 'invalidSyntax'))
  })

  it.each(['9223372036854775807', '9007199254740993', '2147483648'])(
    'refuses startIndex=%s with invalidValue instead of a D1 error or rounding',
    async (startIndex) => {
      const { scim } = await newIntegration()
      const res = await scim.get(`/Users?startIndex=${startIndex}`)
      expect(res.body).toEqual(error(400, 'invalidValue'))
      expect(res.body.detail).toContain('startIndex')
      const search = await call('POST', '/scim/v2/Users/.search', {
        token: (await newIntegration()).token,
        raw: `{"startIndex":${startIndex}}`,
        headers: { 'content-type': 'application/scim+json' },
      })
      expect(search.body).toEqual(error(400, 'invalidValue'))
    }
  )

  it('clamps a huge count to the page maximum and takes the largest startIndex', async () => {
    const { scim } = await newIntegration()
    await scim.post('/Users', userBody('one@example.com'))
    const res = await scim.get('/Users?count=9223372036854775807&startIndex=2147483647')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ totalResults: 1, itemsPerPage: 0, startIndex: 2147483647 })
    expect((await scim.get('/Users?count=9223372036854775807')).body.itemsPerPage).toBe(1)
  })

  it('refuses 20,000 emails in one POST, naming the attribute and the limit, having written nothing', async () => {
    const { id, scim } = await newIntegration()
    const emails = Array.from({ length: 20_000 }, (_, i) => ({ value: `e${i}@example.com`, type: 'work' }))
    const res = await scim.post('/Users', userBody('many@example.com', { emails }))
    expect(res.body).toEqual(error(400, 'invalidValue'))
    expect(res.body.detail).toContain('"emails" has 20000 values; at most 100')
    expect(Number(res.headers.get('x-d1-rows-written'))).toBe(0)
    expect(await countUsers(id)).toBe(0)
  })

  it('refuses strings above the length limit', async () => {
    const { scim } = await newIntegration()
    const res = await scim.post('/Users', userBody('x'.repeat(1025)))
    expect(res.body).toEqual(error(400, 'invalidValue'))
    expect(res.body.detail).toContain('1024 characters')
    expect((await scim.post('/Users', userBody(`${'x'.repeat(1000)}@e.com`))).status).toBe(201)
  })

  it.each([
    ['a NUL', '"a\\u0000b@example.com"', 'control character'],
    ['an escape character', '"a\\u001bb@example.com"', 'control character'],
    ['a lone high surrogate', '"a\\ud800b@example.com"', 'unpaired UTF-16 surrogate'],
    ['a lone low surrogate', '"\\udc00@example.com"', 'unpaired UTF-16 surrogate'],
  ])('refuses a userName with %s', async (_name, userName, detail) => {
    const { id, token } = await newIntegration()
    const res = await call('POST', '/scim/v2/Users', {
      token,
      raw: `{"schemas":["${USER_SCHEMA}"],"userName":${userName}}`,
      headers: { 'content-type': 'application/scim+json' },
    })
    expect(res.body).toEqual(error(400, 'invalidValue'))
    expect(res.body.detail).toContain(detail)
    expect(await countUsers(id)).toBe(0)
  })

  it('refuses a body that is not valid UTF-8 with invalidSyntax, instead of storing U+FFFD', async () => {
    const { id, token } = await newIntegration()
    const prefix = new TextEncoder().encode(`{"schemas":["${USER_SCHEMA}"],"userName":"bad`)
    const suffix = new TextEncoder().encode('@example.com"}')
    const raw = new Uint8Array([...prefix, 0xc3, 0x28, ...suffix])
    const res = await call('POST', '/scim/v2/Users', { token, raw, headers: { 'content-type': 'application/scim+json' } })
    expect(res.body).toEqual(error(400, 'invalidSyntax'))
    expect(res.body.detail).toContain('UTF-8')
    expect(await countUsers(id)).toBe(0)
  })
})

describe("a group's version", () => {
  const etagOf = async (scim: Awaited<ReturnType<typeof newIntegration>>['scim'], id: string) => {
    const res = await scim.get(`/Groups/${id}`)
    expect(res.status).toBe(200)
    return res.headers.get('etag')!
  }

  it('moves with every change to what GET /Groups/:id returns: member added, removed, renamed, deleted', async () => {
    const { scim } = await newIntegration()
    const { body: a } = await scim.post('/Users', userBody('a@example.com', { displayName: 'A' }))
    const { body: b } = await scim.post('/Users', userBody('b@example.com'))
    const { body: g } = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Versioned' })
    const seen = [await etagOf(scim, g.id)]
    const step = async (change: () => Promise<unknown>) => {
      await change()
      const etag = await etagOf(scim, g.id)
      expect(seen).not.toContain(etag)
      seen.push(etag)
    }
    await step(() => scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: a.id }, { value: b.id }] }]))
    await step(() => scim.patch(`/Groups/${g.id}`, [{ op: 'remove', path: `members[value eq "${b.id}"]` }]))
    await step(() => scim.patch(`/Users/${a.id}`, [{ op: 'replace', path: 'displayName', value: 'A renamed' }]))
    expect((await scim.get(`/Groups/${g.id}`)).body.members[0].display).toBe('A renamed')
    await step(() => scim.delete(`/Users/${a.id}`))

    const { body: child } = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Child' })
    await step(() => scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: child.id }] }]))
    await step(() => scim.patch(`/Groups/${child.id}`, [{ op: 'replace', path: 'displayName', value: 'Child renamed' }]))
    await step(() => scim.delete(`/Groups/${child.id}`))

    // A change that does not alter the group's body leaves its version alone.
    const { body: c } = await scim.post('/Users', userBody('c@example.com'))
    await scim.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: c.id }] }])
    const before = await etagOf(scim, g.id)
    await scim.patch(`/Users/${c.id}`, [{ op: 'replace', path: 'title', value: 'Unrelated' }])
    expect(await etagOf(scim, g.id)).toBe(before)
  })

  it('makes If-None-Match answer 200 and a stale If-Match 412 after a member is renamed', async () => {
    const { scim, token } = await newIntegration()
    const { body: a } = await scim.post('/Users', userBody('etag-a@example.com'))
    const { body: g } = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Cached', members: [{ value: a.id }] })
    const stale = await etagOf(scim, g.id)
    await scim.patch(`/Users/${a.id}`, [{ op: 'replace', path: 'displayName', value: 'New name' }])
    const conditional = await scim.get(`/Groups/${g.id}`, { 'if-none-match': stale })
    expect(conditional.status).toBe(200)
    expect(conditional.body.members[0].display).toBe('New name')
    const write = await call('PATCH', `/scim/v2/Groups/${g.id}`, {
      token,
      headers: { 'if-match': stale },
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Stale writer' }] },
    })
    expect(write.status).toBe(412)
  })
})

describe('case-insensitive filters beyond ASCII', () => {
  it('fold the way the in-memory evaluator does: accents, ß, Greek, full-width', async () => {
    const { scim } = await newIntegration()
    const { body: u } = await scim.post(
      '/Users',
      userBody('emile@example.com', { displayName: 'ÉMILE', title: 'ΣΟΦΙΑ', name: { familyName: 'ＡＬ' } })
    )
    for (const f of ['displayName eq "émile"', 'title eq "σοφια"', 'name.familyName eq "ａｌ"', 'displayName sw "ém"']) {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(f)}`)
      expect(
        res.body.Resources.map((r: Json) => r.id),
        f
      ).toEqual([u.id])
    }
  })

  it('still match rows stored before the folded copy existed, as before (ASCII)', async () => {
    const { id, scim } = await newIntegration()
    await env.DB.prepare(
      `INSERT INTO users (id, integration_id, user_name, user_name_key, active, data, version, created_at, updated_at)
       VALUES ('legacy-' || ?1, ?1, 'legacy', 'legacy', 1, json_object('userName', 'legacy', 'title', 'Chief', 'active', json('true')), 1, '2026-01-01', '2026-01-01')`
    )
      .bind(id)
      .run()
    const res = await scim.get(`/Users?filter=${encodeURIComponent('title eq "CHIEF"')}`)
    expect(res.body.Resources.map((r: Json) => r.id)).toEqual([`legacy-${id}`])
  })
})
