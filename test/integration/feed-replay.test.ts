import { describe, expect, it } from 'vitest'
import { admin, call, GROUP_SCHEMA, newIntegration, userBody, type Json } from '../helpers/http'
import { connectTenant, seedDirectory } from '../helpers/graph-tenant'
import { fakeGraph, runSync, safeguardOff } from '../helpers/sync'

/*
 * The feed is complete: an application that lists nothing and only follows the feed from the start
 * of a mixed workload (SCIM pushes, Bulk, imports with changes and removals at the source, device
 * assignments, an integration deleted) ends with exactly the directory the read API shows.
 */

const api = (path: string, token: string) => call('GET', `/api/v1${path}`, { token })

async function all(path: string, key: string): Promise<Json[]> {
  const out: Json[] = []
  let cursor: string | null = null
  do {
    const page: Json = await api(`${path}${path.includes('?') ? '&' : '?'}limit=500${cursor ? `&cursor=${cursor}` : ''}`, key)
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    out.push(...page.body.data)
    cursor = page.body.nextCursor
  } while (cursor)
  return out
}

describe('replaying the change feed', () => {
  it('rebuilds the users, groups and memberships the read API shows after a mixed SCIM and import workload', async () => {
    const key = (await admin('POST', '/api-keys', { name: `replay ${crypto.randomUUID()}`, scope: 'write' })).body.token as string
    const start = (await api('/events?after=latest', key)).body.nextCursor as string

    // SCIM pushes, Bulk and devices in one integration…
    const { scim } = await newIntegration()
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push((await scim.post('/Users', userBody(`p${i}-${crypto.randomUUID()}`))).body.id)
    const team = (
      await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Team', members: ids.slice(0, 4).map((value) => ({ value })) })
    ).body
    await scim.patch(`/Groups/${team.id}`, [{ op: 'remove', path: `members[value eq "${ids[0]}"]` }])
    await scim.patch(`/Users/${ids[1]}`, [{ op: 'replace', path: 'active', value: false }])
    await call('PUT', `/api/v1/users/${ids[2]}/devices/replay-${ids[2]}`, { token: key })
    await scim.delete(`/Users/${ids[2]}`) // kept: it has a device
    await scim.delete(`/Users/${ids[3]}`) // gone
    const bulk = await scim.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'b1', data: userBody(`bulk-${crypto.randomUUID()}`) },
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g1',
          data: { schemas: [GROUP_SCHEMA], displayName: 'Bulk', members: [{ value: 'bulkId:b1' }] },
        },
        {
          method: 'PATCH',
          path: `/Users/${ids[4]}`,
          data: {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'title', value: 'Boss' }],
          },
        },
      ],
    })
    expect(
      bulk.body.Operations.map((o: Json) => o.status),
      JSON.stringify(bulk.body)
    ).toEqual(['201', '201', '200'])

    // …an Entra import, changes and removals at the source, and a second run…
    const { tenant, id: entra } = await connectTenant()
    await safeguardOff(entra)
    await seedDirectory(tenant)
    await runSync(entra, 'succeeded')
    await fakeGraph(tenant, {
      action: 'upsertUsers',
      users: [{ id: 'u2', userPrincipalName: 'bob@contoso.com', displayName: 'Robert', jobTitle: 'CTO' }],
    })
    await fakeGraph(tenant, { action: 'deleteUser', id: 'u4', how: 'hard' })
    await fakeGraph(tenant, { action: 'upsertGroups', groups: [{ id: 'g-eng', displayName: 'Engineering', members: ['u2', 'u5'] }] })
    await runSync(entra, 'succeeded')

    // …and a third integration created, filled and deleted.
    const doomed = await newIntegration()
    const d = (await doomed.scim.post('/Users', userBody(`doomed-${crypto.randomUUID()}`))).body.id
    await doomed.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Doomed', members: [{ value: d }] })
    expect((await admin('DELETE', `/integrations/${doomed.id}`)).status).toBe(200)

    // Follow the feed from the start, keeping the latest view of everything.
    const users = new Map<string, Json>()
    const groups = new Map<string, Json>()
    const members = new Map<string, Set<string>>()
    let after = start
    for (;;) {
      const page = await api(`/events?after=${after}&limit=7`, key)
      expect(page.status).toBe(200)
      for (const e of page.body.data as Json[]) {
        const [kind] = e.type.split('.')
        if (e.type === 'user.deleted') {
          users.delete(e.data.id)
          for (const set of members.values()) set.delete(e.data.id)
        } else if (e.type === 'group.deleted') {
          groups.delete(e.data.id)
          members.delete(e.data.id)
          for (const set of members.values()) set.delete(e.data.id)
        } else if (e.type === 'group.member_added') {
          members.set(e.data.groupId, (members.get(e.data.groupId) ?? new Set()).add(e.data.userId ?? e.data.memberGroupId))
        } else if (e.type === 'group.member_removed') {
          members.get(e.data.groupId)?.delete(e.data.userId ?? e.data.memberGroupId)
        } else if (kind === 'user') users.set(e.data.id, e.data)
        else if (kind === 'group' && e.data.id) groups.set(e.data.id, e.data)
      }
      after = page.body.nextCursor
      if (!page.body.hasMore) break
    }

    const listedUsers = await all('/users?status=all', key)
    const listedGroups = await all('/groups', key)
    // Compared without devices and updatedAt: a device event carries the device, not the user.
    const strip = ({ devices: _d, updatedAt: _u, ...rest }: Json) => rest
    expect(new Map([...users].map(([k, v]) => [k, strip(v)]))).toEqual(new Map(listedUsers.map((u) => [u.id, strip(u)])))
    // A membership change is its own event, not a group.updated: the count is the members followed.
    const bare = ({ memberCount: _m, updatedAt: _u, ...rest }: Json) => rest
    expect(new Map([...groups].map(([k, v]) => [k, bare(v)]))).toEqual(new Map(listedGroups.map((g) => [g.id, bare(g)])))
    const userIds = new Set(listedUsers.map((u) => u.id))
    for (const g of listedGroups) {
      const followed = [...(members.get(g.id) ?? [])]
      expect(followed.length, g.displayName).toBe(g.memberCount)
      const listed = (await all(`/groups/${g.id}/members`, key)).map((u) => u.id).sort()
      expect(followed.filter((m) => userIds.has(m)).sort(), g.displayName).toEqual(listed)
    }
    // The user kept with its device, and the one detached from the deleted integration, are in both.
    expect(users.get(ids[2]!)).toMatchObject({ status: 'archived' })
    expect(users.has(ids[3]!)).toBe(false)
    expect(users.has(d)).toBe(false)
    expect(listedGroups.map((g) => g.displayName)).toEqual(expect.arrayContaining(['Team', 'Bulk', 'Engineering', 'Everyone']))
    expect(listedGroups.map((g) => g.displayName)).not.toContain('Doomed')
  }, 60_000)
})
