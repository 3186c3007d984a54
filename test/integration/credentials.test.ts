import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { connectCustomer } from '../helpers/google-customer'
import { connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { admin, ERROR_SCHEMA, newIntegration } from '../helpers/http'
import { fakeGraph, runSync } from '../helpers/sync'

const userIds = async (integrationId: string) =>
  (await env.DB.prepare('SELECT id FROM users WHERE integration_id = ? ORDER BY id').bind(integrationId).all<{ id: string }>()).results.map(
    (r) => r.id
  )

describe('replacing an integration’s credentials', () => {
  it('Entra: a new client secret is sealed, the next run works with it, and every user keeps its id', async () => {
    const t = await connectTenant()
    await seedDirectory(t.tenant)
    await runSync(t.id, 'succeeded')
    const before = await userIds(t.id)
    expect(before.length).toBeGreaterThan(0)

    const sealedOf = async () =>
      (await env.DB.prepare('SELECT sealed_secrets AS s FROM integrations WHERE id = ?').bind(t.id).first<{ s: string }>())!.s
    const sealedBefore = await sealedOf()

    // A secret Entra does not know (a typo), once the access token issued before runs out: the run
    // fails saying why, which shows the new secret is the one used.
    const wrong = await admin('PATCH', `/integrations/${t.id}`, { clientSecret: 'mistyped-secret' })
    expect(wrong.status).toBe(200)
    expect(JSON.stringify(wrong.body)).not.toContain('mistyped-secret')
    const sealed = await sealedOf()
    expect(sealed).not.toBe(sealedBefore)
    expect(sealed).not.toContain('mistyped-secret')
    await fakeGraph(t.tenant, { action: 'expireAccessTokens' })
    expect((await runSync(t.id, 'failed')).error).toContain('invalid_client')

    expect((await admin('PATCH', `/integrations/${t.id}`, { clientSecret: 'app-secret' })).status).toBe(200)
    await runSync(t.id, 'succeeded')
    expect(await userIds(t.id)).toEqual(before)
  })

  it('Google: a new service-account key replaces the old one; one that cannot sign is refused at once, one Google refuses fails the next run', async () => {
    const g = await connectCustomer()
    await runSync(g.id, 'succeeded')
    const before = await userIds(g.id)
    const unusable = { client_email: g.serviceAccount.client_email, private_key: 'not a key' }
    const broken = await admin('PATCH', `/integrations/${g.id}`, { serviceAccount: unusable })
    expect(broken.status).toBe(400)
    expect(broken.body.detail).toContain('serviceAccount.private_key: The service account private_key is not a PKCS#8 PEM key')
    const created = await admin('POST', '/integrations', {
      kind: 'google',
      name: `Unusable ${Date.now()}`,
      serviceAccount: unusable,
      adminEmail: 'admin@acme.example',
    })
    expect(created.status).toBe(400)
    expect(created.body.detail).toContain('private_key')
    // The refused key changed nothing: the old one still works.
    await runSync(g.id, 'succeeded')
    // Another account's key signs, but Google refuses its signature: the next run says so.
    const other = await connectCustomer()
    const foreign = { client_email: g.serviceAccount.client_email, private_key: other.serviceAccount.private_key }
    expect((await admin('PATCH', `/integrations/${g.id}`, { serviceAccount: foreign })).status).toBe(200)
    expect((await runSync(g.id, 'failed')).error).toContain('Invalid JWT Signature')
    expect((await admin('PATCH', `/integrations/${g.id}`, { serviceAccount: g.serviceAccount })).status).toBe(200)
    await runSync(g.id, 'succeeded')
    expect(await userIds(g.id)).toEqual(before)
  })

  it('is refused where it means nothing, saying what to do instead', async () => {
    const scim = await newIntegration()
    const onScim = await admin('PATCH', `/integrations/${scim.id}`, { clientSecret: 'x' })
    expect(onScim.status).toBe(400)
    expect(onScim.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidValue' })
    expect(onScim.body.detail).toContain('only Entra apps')

    // An Entra integration waiting for "Sign in with Azure" has no app secret to replace.
    const consent = await admin('POST', '/integrations', { kind: 'entra', name: `Consent ${crypto.randomUUID()}` })
    const noSecret = await admin('PATCH', `/integrations/${consent.body.id}`, { clientSecret: 'x' })
    expect(noSecret.status).toBe(400)
    expect(noSecret.body.detail).toContain('/connect')

    const g = await connectCustomer()
    expect((await admin('PATCH', `/integrations/${g.id}`, { clientSecret: 'x' })).status).toBe(400)
    const t = await connectTenant()
    const wrongKind = await admin('PATCH', `/integrations/${t.id}`, { serviceAccount: g.serviceAccount })
    expect(wrongKind.status).toBe(400)
    expect(wrongKind.body.detail).toContain('only Google')
    const badKey = await admin('PATCH', `/integrations/${g.id}`, { serviceAccount: { client_email: 'x@y' } })
    expect(badKey.status).toBe(400)
    expect(badKey.body.detail).toContain('private_key')
  })
})
