import { and, eq, sql } from 'drizzle-orm'
import { notFound } from '../scim/errors'
import { nowIso, type Db } from './db'
import { devices, users, type DeviceRow } from './schema'

/*
 * Device assignments for the application API. The application owns its devices; this records which
 * user each is assigned to. A device has one user at most, so assigning it elsewhere moves it.
 */

export async function getDevice(db: Db, id: string): Promise<DeviceRow> {
  const [[row]] = await db.batch([db.select().from(devices).where(eq(devices.id, id))])
  if (!row) throw notFound(`No device with id "${id}" is assigned to anyone.`)
  return row
}

/**
 * Assigns a device to a user (moving it from any other user). `created` is false when the device
 * already was this user's; its name changes only when one is given. One round trip: the previous
 * assignment is read in the same batch, and the upsert takes the user's id from its row, so a user
 * that does not exist (or was deleted a moment ago) gets nothing written.
 */
export async function assignDevice(
  db: Db,
  userId: string,
  deviceId: string,
  name: string | undefined
): Promise<{ device: DeviceRow; created: boolean }> {
  const now = nowIso()
  const [before, upserted] = await db.batch([
    db.select({ userId: devices.userId }).from(devices).where(eq(devices.id, deviceId)),
    db
      .insert(devices)
      .select(
        db
          .select({
            id: sql<string>`${deviceId}`.as('id'),
            name: sql<string | null>`${name ?? null}`.as('name'),
            userId: users.id,
            assignedAt: sql<string>`${now}`.as('assigned_at'),
          })
          .from(users)
          .where(eq(users.id, userId))
      )
      .onConflictDoUpdate({
        target: devices.id,
        set: {
          name: sql.raw('coalesce(excluded.name, "devices"."name")'),
          // Kept when the device stays with its user; a move starts a new assignment.
          assignedAt: sql.raw(
            'CASE WHEN "devices"."user_id" = excluded.user_id THEN "devices"."assigned_at" ELSE excluded.assigned_at END'
          ),
          userId: sql.raw('excluded.user_id'),
        },
      })
      .returning(),
  ])
  const device = upserted[0]
  if (!device) throw notFound(`No user with id "${userId}".`)
  return { device, created: before[0]?.userId !== userId }
}

/** Unassigns a device from a user; 404 when it is not assigned to that user. */
export async function unassignDevice(db: Db, userId: string, deviceId: string): Promise<void> {
  const [deleted] = await db.batch([
    db
      .delete(devices)
      .where(and(eq(devices.id, deviceId), eq(devices.userId, userId)))
      .returning({ id: devices.id }),
  ])
  if (deleted.length === 0) throw notFound(`Device "${deviceId}" is not assigned to user "${userId}".`)
}

/**
 * How many of an integration's users have a device, so deleting it keeps them (detached): what the
 * console's delete confirmation says. Reads the devices once, not the integration's users.
 */
export async function usersKeptForDevices(db: Db, integrationId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(DISTINCT ${devices.userId})` })
    .from(devices)
    .innerJoin(users, eq(users.id, devices.userId))
    .where(eq(users.integrationId, integrationId))
  return row?.n ?? 0
}
