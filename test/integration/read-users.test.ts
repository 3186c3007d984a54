import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { admin, call, ENTERPRISE, ERROR_SCHEMA, newIntegration, USER_SCHEMA } from '../helpers/http'

/* Reading one user, and its groups, through the application API. */

const read = (path: string, token: string) => call('GET', `/api/v1${path}`, { token })

async function readKey() {
  return (await admin('POST', '/api-keys', { name: `reader ${crypto.randomUUID()}`, scope: 'read' })).body.token as string
}

describe('GET /api/v1/users/:id', () => {
  it('shows the user as applications see it: integration, status, names, primary email, title, department, devices', async () => {
    const { id: integrationId, scim } = await newIntegration()
    const userName = `ada-${crypto.randomUUID()}@example.com`
    const created = await scim.post('/Users', {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName,
      externalId: 'ext-ada',
      displayName: 'Ada Lovelace',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      title: 'Engineer',
      emails: [
        { value: 'ada.home@example.com', type: 'home' },
        { value: 'ada@example.com', type: 'work', primary: true },
      ],
      [ENTERPRISE]: { department: 'Analytical Engines' },
    })
    const id = created.body.id as string
    const key = await readKey()
    await admin('PUT', `/users/${id}/devices/dev-b-${id}`, { name: 'Laptop' })
    await admin('PUT', `/users/${id}/devices/dev-a-${id}`)

    const res = await read(`/users/${id}`, key)
    expect(res.status).toBe(200)
    const integration = (await admin('GET', `/integrations/${integrationId}`)).body
    expect(res.body).toEqual({
      id,
      integration: { id: integrationId, name: integration.name, kind: 'scim' },
      status: 'active',
      userName,
      displayName: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
      email: 'ada@example.com',
      title: 'Engineer',
      department: 'Analytical Engines',
      externalId: 'ext-ada',
      devices: [
        { id: `dev-a-${id}`, name: null, assignedAt: expect.any(String) },
        { id: `dev-b-${id}`, name: 'Laptop', assignedAt: expect.any(String) },
      ],
      createdAt: created.body.meta.created,
      updatedAt: created.body.meta.lastModified,
      archivedAt: null,
      detachedFrom: null,
    })
  })

  it('takes the first email when none is primary, and null for what the user does not have', async () => {
    const { scim } = await newIntegration()
    const created = await scim.post('/Users', {
      schemas: [USER_SCHEMA],
      userName: `bob-${crypto.randomUUID()}`,
      emails: [{ value: 'first@example.com' }, { value: 'second@example.com' }],
    })
    const view = (await read(`/users/${created.body.id}`, await readKey())).body
    expect(view).toMatchObject({
      email: 'first@example.com',
      displayName: null,
      givenName: null,
      department: null,
      externalId: null,
      devices: [],
    })
  })

  it('shows archived users with archivedAt, on every path that archives, and clears it on restore', async () => {
    const { scim } = await newIntegration()
    const key = await readKey()
    const created = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `carol-${crypto.randomUUID()}` })
    const id = created.body.id as string
    const archived = await scim.patch(`/Users/${id}`, [{ op: 'replace', value: { active: false } }])
    let view = (await read(`/users/${id}`, key)).body
    expect(view.status).toBe('archived')
    expect(view.archivedAt).toBe(archived.body.meta.lastModified)
    await scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'active', value: true }])
    view = (await read(`/users/${id}`, key)).body
    expect(view).toMatchObject({ status: 'active', archivedAt: null })
    // Created archived: archived since its creation.
    const born = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `dave-${crypto.randomUUID()}`, active: false })
    expect((await read(`/users/${born.body.id}`, key)).body).toMatchObject({ status: 'archived', archivedAt: born.body.meta.created })
  })

  it('answers 404 for an unknown id, 401 without a credential and never shows a secret', async () => {
    const key = await readKey()
    const missing = await read(`/users/${crypto.randomUUID()}`, key)
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' })
    expect((await call('GET', `/api/v1/users/${crypto.randomUUID()}`)).status).toBe(401)
    const { scim, token } = await newIntegration()
    const created = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `eve-${crypto.randomUUID()}` })
    const body = JSON.stringify((await read(`/users/${created.body.id}`, key)).body)
    expect(body).not.toContain(token)
    expect(body).not.toMatch(/token|secret|hash/i)
  })

  it('costs one statement with a handful of rows read', async () => {
    const { scim } = await newIntegration()
    const created = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `frank-${crypto.randomUUID()}` })
    const res = await read(`/users/${created.body.id}`, await readKey())
    // The key check (KV miss falls back to D1 in a fresh isolate) plus the view itself.
    expect(Number(res.headers.get('x-d1-rows-read'))).toBeLessThanOrEqual(6)
  })
})

describe('GET /api/v1/users/:id/groups', () => {
  it('pages the groups a user is a direct member of, by cursor', async () => {
    const { scim } = await newIntegration()
    const key = await readKey()
    const user = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `gina-${crypto.randomUUID()}` })
    const id = user.body.id as string
    const groupIds: string[] = []
    for (let i = 0; i < 5; i++) {
      const g = await scim.post('/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: `G${i}`,
        externalId: `ext-g${i}`,
        members: [{ value: id }],
      })
      groupIds.push(g.body.id)
    }
    await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Not hers' })
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { status: number; body: { data: { id: string; displayName: string; externalId: string }[]; nextCursor: string | null } } =
        await read(`/users/${id}/groups?limit=2${cursor ? `&cursor=${cursor}` : ''}`, key)
      expect(page.status).toBe(200)
      expect(page.body.data.length).toBeLessThanOrEqual(2)
      for (const g of page.body.data) expect(g.displayName).toBe(`G${groupIds.indexOf(g.id)}`)
      seen.push(...page.body.data.map((g) => g.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toEqual([...groupIds].sort())
  })

  it('names the bad parameter, and 404s an unknown user', async () => {
    const key = await readKey()
    const { scim } = await newIntegration()
    const user = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `hal-${crypto.randomUUID()}` })
    for (const q of ['limit=0', 'limit=501', 'limit=abc', 'limit=1.5']) {
      const res = await read(`/users/${user.body.id}/groups?${q}`, key)
      expect(res.status, q).toBe(400)
      expect(res.body.detail, q).toContain('limit')
    }
    expect((await read(`/users/${crypto.randomUUID()}/groups`, key)).status).toBe(404)
  })

  it('leaves no archived user without archivedAt after every write in this file', async () => {
    const row = await env.DB.prepare('SELECT count(*) AS n FROM users WHERE active = 0 AND archived_at IS NULL').first<{ n: number }>()
    expect(row!.n).toBe(0)
  })
})
