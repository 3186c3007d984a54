import { Hono } from 'hono'
import * as z from 'zod'
import { apiAuth } from '../admin/auth'
import { assignDevice, getDevice, unassignDevice } from '../directory/devices'
import { eventTypeSchema, listEvents, parseCursor } from '../directory/events'
import { getGroupView, getUserView, groupMembersPage, listGroupViews, listUserViews, userGroupsPage } from '../directory/views'
import type { DeviceRow } from '../directory/schema'
import { readJson } from '../http/body'
import type { AppEnv } from '../http/context'
import { invalidValue, parseWith } from '../scim/errors'

/*
 * The application API under /api/v1: what applications holding an API key call (the admin token may
 * too). Each route names the scope it needs; there is no catch-all here, so anything else falls
 * through to the admin API, which needs the admin token.
 */

// Ids and names the application chooses: printable, bounded, so they are safe to store and show.
const PRINTABLE = /^[^\p{Cc}]+$/u
const deviceIdSchema = z.string().min(1).max(200).regex(PRINTABLE)
const assignSchema = z.object({
  name: z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' })
    .regex(PRINTABLE, { error: 'must not contain control characters' })
    .optional(),
})

function deviceId(raw: string): string {
  if (!deviceIdSchema.safeParse(raw).success)
    throw invalidValue('deviceId: must be 1 to 200 characters without control characters (the id your application gives the device).')
  return raw
}

const pageSchema = z.object({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(500, { error: 'must be at most 500' })
    .default(100),
  cursor: z.string().min(1, { error: 'must not be empty' }).max(2000, { error: 'is not a cursor this API gave out' }).optional(),
})

const idParam = z.string().min(1, { error: 'must not be empty' }).max(200, { error: 'is not an id this API gave out' })
const statusSchema = z.enum(['active', 'archived', 'all'], { error: 'must be "active", "archived" or "all"' })

const groupListSchema = pageSchema.extend({
  integrationId: idParam.optional(),
  // Stored times are ISO in UTC with milliseconds; any ISO time is normalised to that to compare.
  updatedSince: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-31T12:00:00Z' })
    .transform((t) => new Date(t).toISOString())
    .optional(),
  q: z
    .string()
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' })
    .regex(PRINTABLE, { error: 'must not contain control characters' })
    .optional(),
})

const userListSchema = groupListSchema.extend({ status: statusSchema.default('active'), groupId: idParam.optional() })

// A group's members are members whatever their status, unless a status is asked for.
const memberListSchema = pageSchema.extend({ integrationId: idParam.optional(), status: statusSchema.default('all') })

const eventsSchema = z.object({
  limit: pageSchema.shape.limit,
  after: z.string().optional().transform(parseCursor),
  integrationId: z.string().min(1, { error: 'must not be empty' }).optional(),
  types: z
    .string()
    .optional()
    .transform((t, ctx) => {
      if (t === undefined) return undefined
      const types = t.split(',').map((x) => x.trim())
      const unknown = types.filter((x) => !eventTypeSchema.safeParse(x).success)
      if (unknown.length === 0) return types.map((x) => eventTypeSchema.parse(x))
      ctx.addIssue({
        code: 'custom',
        message: `has unknown event types ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${eventTypeSchema.options.join(', ')}`,
      })
      return z.NEVER
    }),
})

const deviceView = (d: DeviceRow) => ({ id: d.id, name: d.name, userId: d.userId, assignedAt: d.assignedAt })

export const apiRoutes = new Hono<AppEnv>({ strict: false })
  .get('/users', apiAuth('read'), async (c) => c.json(await listUserViews(c.get('d1'), parseWith(userListSchema, c.req.query()))))
  .get('/groups', apiAuth('read'), async (c) => c.json(await listGroupViews(c.get('d1'), parseWith(groupListSchema, c.req.query()))))
  .get('/groups/:id', apiAuth('read'), async (c) => c.json(await getGroupView(c.get('d1'), c.req.param('id'))))
  .get('/groups/:id/members', apiAuth('read'), async (c) =>
    c.json(await groupMembersPage(c.get('d1'), { ...parseWith(memberListSchema, c.req.query()), groupId: c.req.param('id') }))
  )
  .get('/events', apiAuth('read'), async (c) => c.json(await listEvents(c.get('d1'), parseWith(eventsSchema, c.req.query()))))
  .get('/users/:id', apiAuth('read'), async (c) => c.json(await getUserView(c.get('d1'), c.req.param('id'))))
  .get('/users/:id/groups', apiAuth('read'), async (c) => {
    const { limit, cursor } = parseWith(pageSchema, c.req.query())
    return c.json(await userGroupsPage(c.get('d1'), c.req.param('id'), limit, cursor))
  })
  .get('/devices/:deviceId', apiAuth('read'), async (c) =>
    c.json(deviceView(await getDevice(c.get('db'), deviceId(c.req.param('deviceId')))))
  )
  // 201 when the device was not this user's before (new, or moved from another user), 200 when it was.
  .put('/users/:id/devices/:deviceId', apiAuth('write'), async (c) => {
    const id = deviceId(c.req.param('deviceId'))
    const body = c.req.raw.body && c.req.header('content-length') !== '0' ? await readJson(c) : {}
    const { name } = parseWith(assignSchema, body)
    const { device, created } = await assignDevice(c.get('db'), c.req.param('id'), id, name)
    return c.json(deviceView(device), created ? 201 : 200)
  })
  .delete('/users/:id/devices/:deviceId', apiAuth('write'), async (c) => {
    await unassignDevice(c.get('db'), c.req.param('id'), deviceId(c.req.param('deviceId')))
    return c.body(null, 204)
  })
