import { admin, type scimClient, type Json } from './http'
import { byUserName } from './graph-tenant'

/**
 * What the directory holds for an integration, without its own ids or times: its users (userName,
 * active, displayName, title), its groups with their members, and its change feed counted by type.
 * Two integrations fed the same directory by different roads compare equal.
 */
export async function directoryState(id: string, scim: ReturnType<typeof scimClient>) {
  const users = Object.entries(await byUserName(scim))
    .map(([userName, u]: [string, Json]) => `${userName} ${u.active} ${u.displayName ?? ''} ${u.title ?? ''}`)
    .sort()
  const groups: string[] = []
  for (const g of (await admin('GET', `/groups?integrationId=${id}&limit=100`)).body.data as Json[]) {
    const members = (await admin('GET', `/groups/${g.id}/members?limit=100`)).body.data as Json[]
    groups.push(
      `${g.displayName}: ${members
        .map((m) => m.userName ?? m.displayName)
        .sort()
        .join(', ')}`
    )
  }
  const events: Record<string, number> = {}
  for (const e of (await admin('GET', `/events?integrationId=${id}&limit=500`)).body.data as Json[])
    events[e.type] = (events[e.type] ?? 0) + 1
  return { users, groups: groups.sort(), events }
}
