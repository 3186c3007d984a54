import { sql } from 'drizzle-orm'
import { ENTERPRISE_USER_SCHEMA } from '../scim/constants'
import { notFound } from '../scim/errors'
import { readBatch } from './session'

/*
 * The directory as applications see it (the read API, and later the change feed's event data). A
 * user's view is one SQL expression over `users AS u`, so a page of views is one statement and the
 * outbox can write the same view with INSERT … SELECT in the batch of the change itself.
 */

const userView = sql.raw(`json_object(
  'id', u.id,
  'integration', json((SELECT json_object('id', i.id, 'name', i.name, 'kind', i.kind) FROM integrations AS i WHERE i.id = u.integration_id)),
  'status', CASE WHEN u.active THEN 'active' ELSE 'archived' END,
  'userName', u.user_name,
  'displayName', u.display_name,
  'givenName', json_extract(u.data, '$.name.givenName'),
  'familyName', json_extract(u.data, '$.name.familyName'),
  'email', coalesce(
    (SELECT json_extract(e.value, '$.value') FROM json_each(u.data, '$.emails') AS e WHERE json_extract(e.value, '$.primary') = 1 LIMIT 1),
    json_extract(u.data, '$.emails[0].value')),
  'title', json_extract(u.data, '$.title'),
  'department', json_extract(u.data, '$."${ENTERPRISE_USER_SCHEMA}".department'),
  'externalId', u.external_id,
  'devices', json((SELECT json_group_array(json_object('id', d.id, 'name', d.name, 'assignedAt', d.assigned_at))
    FROM (SELECT id, name, assigned_at FROM devices WHERE user_id = u.id ORDER BY id) AS d)),
  'createdAt', u.created_at,
  'updatedAt', u.updated_at,
  'archivedAt', u.archived_at)`)

export interface UserView {
  id: string
  integration: { id: string; name: string; kind: string } | null
  status: 'active' | 'archived'
  userName: string
  displayName: string | null
  givenName: string | null
  familyName: string | null
  email: string | null
  title: string | null
  department: string | null
  externalId: string | null
  devices: { id: string; name: string | null; assignedAt: string }[]
  createdAt: string
  updatedAt: string
  archivedAt: string | null
}

export interface GroupRef {
  id: string
  displayName: string
  externalId: string | null
}

/** One user as applications see it, with its devices: one statement (three index seeks). */
export async function getUserView(d1: D1Database, id: string): Promise<UserView> {
  const [rows] = await readBatch<{ view: string }>(d1, sql`SELECT ${userView} AS view FROM users AS u WHERE u.id = ${id}`)
  const row = rows![0]
  if (!row) throw notFound(`No user with id "${id}".`)
  return JSON.parse(row.view) as UserView
}

/**
 * The groups a user is a direct member of, by group id after `after`, at most `limit`. Cost: the
 * user's memberships (the member index), sorted; a user's groups are few next to a directory.
 */
export async function userGroupsPage(d1: D1Database, id: string, limit: number, after: string | undefined) {
  const [found, rows] = await readBatch<GroupRef>(
    d1,
    sql`SELECT id, '' AS displayName, NULL AS externalId FROM users WHERE id = ${id}`,
    sql`SELECT g.id AS id, g.display_name AS displayName, g.external_id AS externalId
      FROM group_members AS gm JOIN groups AS g ON g.id = gm.group_id
      WHERE gm.member_id = ${id} AND g.id > ${after ?? ''} ORDER BY g.id LIMIT ${limit + 1}`
  )
  if (found!.length === 0) throw notFound(`No user with id "${id}".`)
  const more = rows!.length > limit
  const data = rows!.slice(0, limit)
  return { data, nextCursor: more ? data[data.length - 1]!.id : null }
}
