import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, call, GROUP_SCHEMA, newIntegration, PATCH_OP, userBody, type Reply } from '../helpers/http'

/*
 * A SCIM write is one D1 round trip (the X-D1-Round-Trips header counts every call that waited on
 * D1): the caller check, the guards, the write and what the response needs go in one batch. When a
 * guard fails, the batch writes nothing and the request is answered as before, at the cost of a
 * read to say why.
 */
const trips = (r: Reply) => Number(r.headers.get('x-d1-round-trips'))
/** Statements in the request's batches (X-D1-Queries): each costs D1 work of its own, so the guards go in as one. */
const statements = (r: Reply) => Number(r.headers.get('x-d1-queries'))
const row = (sql: string, ...values: unknown[]) =>
  env.DB.prepare(sql)
    .bind(...values)
    .first<Record<string, unknown>>()

describe('one round trip per write', () => {
  it('POST, GET-then-PATCH and GET-then-PUT of a user, and a one-member group PATCH', async () => {
    const { scim } = await newIntegration()
    const created = await scim.post('/Users', userBody('ada@trips.example', { emails: [{ value: 'ada@trips.example', type: 'work' }] }))
    expect(created.status).toBe(201)
    expect(trips(created)).toBe(1)
    // The caller check, the user, its emails.
    expect(statements(created)).toBe(3)
    const id = created.body.id

    // Entra's update: look the user up by userName, then PATCH it.
    const found = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "ada@trips.example"')}`)
    expect(found.body.Resources[0].id).toBe(id)
    const patched = await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'displayName', value: 'Ada L.' }])
    expect(patched.status).toBe(200)
    expect(trips(patched)).toBe(1)
    // The caller check and the version guard as one statement, the update, the user's groups, and
    // (a new display name) the listing times of the groups that show it.
    expect(statements(patched)).toBe(4)
    expect(patched.body.displayName).toBe('Ada L.')
    expect(patched.body.meta.version).toBe('W/"2"')

    // Okta's: GET, then PUT the whole user; a following PATCH starts from what the PUT wrote.
    await scim.get(`/Users/${id}`)
    const put = await scim.put(`/Users/${id}`, userBody('ada@trips.example', { displayName: 'Ada', title: 'Countess' }))
    expect(put.status).toBe(200)
    expect(trips(put)).toBe(1)
    expect(put.body).toMatchObject({ displayName: 'Ada', title: 'Countess', active: true })
    const again = await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'title', value: 'Analyst' }])
    expect(trips(again)).toBe(1)
    // Without a new display name, just the guards, the update and the user's groups.
    expect(statements(again)).toBe(3)
    expect(again.body).toMatchObject({ displayName: 'Ada', title: 'Analyst', meta: { version: 'W/"4"' } })
    // The PUT dropped the email, so its index row went too.
    expect(await row('SELECT count(*) AS n FROM user_emails WHERE user_id = ?', id)).toEqual({ n: 0 })

    const group = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Trips' })
    expect(trips(group)).toBe(1)
    const add = await scim.patch(`/Groups/${group.body.id}`, [{ op: 'add', path: 'members', value: [{ value: id }] }])
    expect(add.status).toBe(204)
    expect(trips(add)).toBe(1)
    // The caller check, the group's and the member's existence as one statement; the members, users
    // and groups alike, in one insert; the group's new version.
    expect(statements(add)).toBe(3)
    expect(add.headers.get('etag')).toBe('W/"2"')
    const remove = await scim.patch(`/Groups/${group.body.id}`, [{ op: 'remove', path: `members[value eq "${id}"]` }])
    expect(trips(remove)).toBe(1)
    expect(statements(remove)).toBe(3)
    const read = await scim.get(`/Groups/${group.body.id}`)
    expect(read.body.members ?? []).toEqual([])
    expect(read.body.meta.version).toBe('W/"3"')
    // The user's groups in a write's response are read in the same batch.
    await scim.patch(`/Groups/${group.body.id}`, [{ op: 'add', path: 'members', value: [{ value: id }] }])
    const withGroups = await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'title', value: 'Engineer' }])
    expect(trips(withGroups)).toBe(1)
    expect(withGroups.body.groups).toEqual([expect.objectContaining({ value: group.body.id, display: 'Trips' })])
  })

  it('a POST /Groups with members reads their display names in its one batch', async () => {
    const { scim } = await newIntegration()
    const user = (await scim.post('/Users', userBody('grace@trips.example', { displayName: 'Grace' }))).body
    const res = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Navy', members: [{ value: user.id }] })
    expect(res.status).toBe(201)
    expect(trips(res)).toBe(1)
    expect(res.body.members).toEqual([expect.objectContaining({ value: user.id, display: 'Grace', type: 'User' })])
  })
})

describe('a remembered copy is only a guess', () => {
  it('a user changed elsewhere since this isolate saw it is read again, and the other change is kept', async () => {
    const { scim } = await newIntegration()
    const { id } = (await scim.post('/Users', userBody('linus@trips.example', { title: 'Dev' }))).body
    // Another writer (an import, another isolate) changes the user behind this isolate's back.
    await env.DB.prepare(
      `UPDATE users SET data = json_set(data, '$.displayName', 'Linus T.'), display_name = 'Linus T.', version = version + 1 WHERE id = ?`
    )
      .bind(id)
      .run()
    const res = await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'title', value: 'Maintainer' }])
    expect(res.status).toBe(200)
    // The aborted batch, the read, the write.
    expect(trips(res)).toBe(3)
    expect(res.body).toMatchObject({ displayName: 'Linus T.', title: 'Maintainer', meta: { version: 'W/"3"' } })
    expect(JSON.parse((await row('SELECT data FROM users WHERE id = ?', id))!.data as string)).toMatchObject({
      displayName: 'Linus T.',
      title: 'Maintainer',
    })
  })

  it('a PATCH that fails on the copy is judged on the stored user', async () => {
    const { scim } = await newIntegration()
    const { id } = (await scim.post('/Users', userBody('ken@trips.example'))).body
    await env.DB.prepare(
      `UPDATE users SET data = json_set(data, '$.emails', json('[{"value":"ken@trips.example","type":"work"}]')), version = version + 1 WHERE id = ?`
    )
      .bind(id)
      .run()
    // The copy has no work email to change; the stored user has one.
    const res = await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'ken@bell.example' }])
    expect(res.status).toBe(200)
    expect(res.body.emails).toEqual([{ value: 'ken@bell.example', type: 'work' }])
  })

  it('If-Match is always judged on the stored version, never on the copy', async () => {
    const { token, scim } = await newIntegration()
    const { id } = (await scim.post('/Users', userBody('barbara@trips.example'))).body
    await env.DB.prepare('UPDATE users SET version = version + 1 WHERE id = ?').bind(id).run()
    const patch = (ifMatch: string) =>
      call('PATCH', `/scim/v2/Users/${id}`, {
        token,
        headers: { 'if-match': ifMatch },
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: ifMatch }] },
      })
    expect((await patch('W/"1"')).status).toBe(412)
    const ok = await patch('W/"2"')
    expect(ok.status).toBe(200)
    expect(ok.body.meta.version).toBe('W/"3"')
  })
})

describe('races', () => {
  it('parallel PATCHes with one If-Match: exactly one wins, the rest are 412 and change nothing', async () => {
    const { token, scim } = await newIntegration()
    const { id } = (await scim.post('/Users', userBody('race.ifmatch@trips.example'))).body
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call('PATCH', `/scim/v2/Users/${id}`, {
          token,
          headers: { 'if-match': 'W/"1"' },
          body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: `winner ${i}` }] },
        })
      )
    )
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, ...Array(7).fill(412)])
    const winner = results.find((r) => r.status === 200)!.body.title
    const stored = await scim.get(`/Users/${id}`)
    expect(stored.body).toMatchObject({ title: winner, meta: { version: 'W/"2"' } })
  })

  it('parallel PATCHes without If-Match on one user: each is applied once, none lost', async () => {
    const { scim } = await newIntegration()
    const { id } = (await scim.post('/Users', userBody('race.merge@trips.example'))).body
    // Different attributes, so every change must survive: the version guard makes the losers
    // compute again on the winner's document, waiting a little between tries (WRITE_ATTEMPTS): all succeed.
    const attributes = ['title', 'nickName', 'locale', 'timezone', 'profileUrl', 'preferredLanguage']
    const results = await Promise.all(
      attributes.map((a) => scim.patch(`/Users/${id}`, [{ op: 'replace', path: a, value: a === 'profileUrl' ? 'https://x.example' : a }]))
    )
    const stored = (await scim.get(`/Users/${id}`)).body
    attributes.forEach((a, i) => {
      expect(results[i]!.status).toBe(200)
      expect(stored[a]).toBe(a === 'profileUrl' ? 'https://x.example' : a)
    })
    expect(stored.meta.version).toBe(`W/"${1 + results.filter((r) => r.status === 200).length}"`)
  })
})

describe('a failed guard writes nothing', () => {
  it('a taken userName: 409, one user', async () => {
    const { id: integrationId, scim } = await newIntegration()
    await scim.post('/Users', userBody('dup@trips.example', { emails: [{ value: 'dup@trips.example' }] }))
    const res = await scim.post('/Users', userBody('DUP@trips.example', { emails: [{ value: 'other@trips.example' }] }))
    expect(res.status).toBe(409)
    expect(res.body.scimType).toBe('uniqueness')
    expect(await row('SELECT count(*) AS n FROM users WHERE integration_id = ?', integrationId)).toEqual({ n: 1 })
    expect(await row('SELECT count(*) AS n FROM user_emails WHERE integration_id = ?', integrationId)).toEqual({ n: 1 })
  })

  it('parallel POSTs of one userName: exactly one 201', async () => {
    const { id: integrationId, scim } = await newIntegration()
    const results = await Promise.all(Array.from({ length: 16 }, () => scim.post('/Users', userBody('race@trips.example'))))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([201, ...Array(15).fill(409)])
    expect(await row('SELECT count(*) AS n FROM users WHERE integration_id = ?', integrationId)).toEqual({ n: 1 })
  })

  it('a token rotated where KV still knows it: 401, nothing written', async () => {
    const { id: integrationId, token, scim } = await newIntegration()
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
    const entry = await env.TOKENS.get(`token:${hash}`)
    expect((await admin('POST', `/integrations/${integrationId}/token`)).status).toBe(200)
    // Another location, where KV has not yet seen the rotation, still resolves the old token.
    await env.TOKENS.put(`token:${hash}`, entry!)
    const res = await scim.post('/Users', userBody('late@trips.example'))
    expect(res.status).toBe(401)
    expect(await row('SELECT count(*) AS n FROM users WHERE integration_id = ?', integrationId)).toEqual({ n: 0 })
  })

  it('an unknown member: 400 naming it, and the known one in the same PATCH is not added either', async () => {
    const { scim } = await newIntegration()
    const user = (await scim.post('/Users', userBody('known@trips.example'))).body
    const group = (await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Guarded' })).body
    const res = await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: user.id }, { value: 'nobody' }] }])
    expect(res.status).toBe(400)
    expect(res.body.detail).toContain('"nobody"')
    expect(res.body.detail).not.toContain(user.id)
    expect(await row('SELECT count(*) AS n FROM group_members WHERE group_id = ?', group.id)).toEqual({ n: 0 })
    expect(await row('SELECT version FROM groups WHERE id = ?', group.id)).toEqual({ version: 1 })
    const missing = await scim.patch('/Groups/no-such-group', [{ op: 'add', path: 'members', value: [{ value: user.id }] }])
    expect(missing.status).toBe(404)
    expect(await row('SELECT count(*) AS n FROM group_members WHERE member_id = ?', user.id)).toEqual({ n: 0 })
  })

  it('a group cannot be its own member', async () => {
    const { scim } = await newIntegration()
    const group = (await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Ouroboros' })).body
    const res = await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: group.id }] }])
    expect(res.status).toBe(400)
    expect(res.body.detail).toContain('itself')
  })
})

describe('membership changes commute', () => {
  it('32 clients adding and removing different members of one group: no errors, every change kept', async () => {
    const { scim } = await newIntegration()
    const users = await Promise.all(Array.from({ length: 32 }, (_, i) => scim.post('/Users', userBody(`m${i}@trips.example`))))
    const ids = users.map((u) => u.body.id as string)
    const leaving = ids.slice(16)
    const group = (
      await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Busy', members: leaving.map((value) => ({ value })) })
    ).body
    const results = await Promise.all(
      ids.map((id, i) =>
        scim.patch(`/Groups/${group.id}`, [
          i < 16 ? { op: 'add', path: 'members', value: [{ value: id }] } : { op: 'remove', path: `members[value eq "${id}"]` },
        ])
      )
    )
    expect(results.map((r) => r.status)).toEqual(Array(32).fill(204))
    expect(results.every((r) => trips(r) === 1)).toBe(true)
    const read = await scim.get(`/Groups/${group.id}`)
    expect(read.body.members.map((m: { value: string }) => m.value).sort()).toEqual(ids.slice(0, 16).sort())
    // Every change moved the version once.
    expect(read.body.meta.version).toBe('W/"33"')
    expect(await row('SELECT member_count AS n FROM groups WHERE id = ?', group.id)).toEqual({ n: 16 })
  })
})
