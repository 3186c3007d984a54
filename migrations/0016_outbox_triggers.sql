-- Custom migration (drizzle-kit generate --custom): the application's view of users and groups, and
-- the outbox. The views are the one definition of what the read API and the change feed show (the
-- read API selects from them; the triggers below copy them into events). Every change writes its
-- event from a trigger, in the same transaction as the change, whichever code path made it (SCIM,
-- Bulk, imports, the application and admin APIs): no change without its event, none without its
-- change, also under races and retries. An update that changes nothing visible writes no event.
-- Cost: one row written per change (the event); user and group removals also cascade here.
CREATE VIEW `user_views` AS SELECT u.`id` AS `id`, u.`integration_id` AS `integration_id`, u.`active` AS `active`,
  u.`updated_at` AS `updated_at`,
  json_object(
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
    'department', json_extract(u.data, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".department'),
    'externalId', u.external_id,
    'devices', json((SELECT json_group_array(json_object('id', d.id, 'name', d.name, 'assignedAt', d.assigned_at))
      FROM (SELECT id, name, assigned_at FROM devices WHERE user_id = u.id ORDER BY id) AS d)),
    'createdAt', u.created_at,
    'updatedAt', u.updated_at,
    'archivedAt', u.archived_at,
    'detachedFrom', json(u.detached_from)) AS `view`
  FROM `users` AS u;
--> statement-breakpoint
CREATE VIEW `group_views` AS SELECT g.`id` AS `id`, g.`integration_id` AS `integration_id`, g.`updated_at` AS `updated_at`,
  json_object(
    'id', g.id,
    'integration', json((SELECT json_object('id', i.id, 'name', i.name, 'kind', i.kind) FROM integrations AS i WHERE i.id = g.integration_id)),
    'displayName', g.display_name,
    'externalId', g.external_id,
    'memberCount', g.member_count,
    'createdAt', g.created_at,
    'updatedAt', g.updated_at) AS `view`
  FROM `groups` AS g;
--> statement-breakpoint
-- Existing groups get their counts once; from here on the membership triggers keep them.
UPDATE `groups` SET `member_count` = (SELECT count(*) FROM `group_members` WHERE `group_id` = `groups`.`id`);
--> statement-breakpoint
-- 0012's archived_at triggers move into the event triggers, so the event written shows archivedAt.
DROP TRIGGER `users_archived_at_insert`;
--> statement-breakpoint
DROP TRIGGER `users_archived_at_update`;
--> statement-breakpoint
CREATE TRIGGER `users_event_insert` AFTER INSERT ON `users` BEGIN
  UPDATE `users` SET `archived_at` = NEW.`created_at` WHERE `id` = NEW.`id` AND NEW.`active` = 0;
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'user.created', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.`integration_id`, `view` FROM `user_views` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
-- archived_at, version and updated_at alone are not a change anyone sees: touching them writes no event.
CREATE TRIGGER `users_event_update` AFTER UPDATE ON `users`
WHEN OLD.`user_name` IS NOT NEW.`user_name` OR OLD.`display_name` IS NOT NEW.`display_name` OR OLD.`external_id` IS NOT NEW.`external_id`
  OR OLD.`active` IS NOT NEW.`active` OR OLD.`data` IS NOT NEW.`data` OR OLD.`detached_from` IS NOT NEW.`detached_from`
BEGIN
  UPDATE `users` SET `archived_at` = CASE WHEN NEW.`active` = 0 THEN NEW.`updated_at` END WHERE `id` = NEW.`id` AND OLD.`active` <> NEW.`active`;
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT CASE
        WHEN OLD.`detached_from` IS NULL AND NEW.`detached_from` IS NOT NULL THEN 'user.detached'
        WHEN OLD.`active` = 1 AND NEW.`active` = 0 THEN 'user.archived'
        WHEN OLD.`active` = 0 AND NEW.`active` = 1 THEN 'user.restored'
        ELSE 'user.updated' END,
      strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.`integration_id`, `view` FROM `user_views` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
-- BEFORE, so the event carries the user as it was.
CREATE TRIGGER `users_event_delete` BEFORE DELETE ON `users` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'user.deleted', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.`integration_id`, `view` FROM `user_views` WHERE `id` = OLD.`id`;
END;
--> statement-breakpoint
-- A removed user's index rows and memberships go with it (its user.deleted implies the memberships,
-- so the membership trigger below writes no member events for them).
CREATE TRIGGER `users_cascade_delete` AFTER DELETE ON `users` BEGIN
  DELETE FROM `user_emails` WHERE `user_id` = OLD.`id`;
  DELETE FROM `group_members` WHERE `member_id` = OLD.`id`;
END;
--> statement-breakpoint
-- SCIM's unfiltered totals leave out the users kept only for their devices (users.deleted_at).
CREATE TRIGGER `users_count_hidden` AFTER UPDATE OF `deleted_at` ON `users` WHEN (OLD.`deleted_at` IS NULL) <> (NEW.`deleted_at` IS NULL) BEGIN
  UPDATE `integrations` SET `hidden_users` = `hidden_users` + CASE WHEN NEW.`deleted_at` IS NULL THEN -1 ELSE 1 END WHERE `id` = NEW.`integration_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_hidden_delete` AFTER DELETE ON `users` WHEN OLD.`deleted_at` IS NOT NULL BEGIN
  UPDATE `integrations` SET `hidden_users` = `hidden_users` - 1 WHERE `id` = OLD.`integration_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `groups_event_insert` AFTER INSERT ON `groups` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'group.created', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.`integration_id`, `view` FROM `group_views` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
-- Membership changes touch a group's version and count; their own events say so, not group.updated.
CREATE TRIGGER `groups_event_update` AFTER UPDATE ON `groups`
WHEN OLD.`display_name` IS NOT NEW.`display_name` OR OLD.`external_id` IS NOT NEW.`external_id` OR OLD.`data` IS NOT NEW.`data`
BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'group.updated', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.`integration_id`, `view` FROM `group_views` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `groups_event_delete` BEFORE DELETE ON `groups` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'group.deleted', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.`integration_id`, `view` FROM `group_views` WHERE `id` = OLD.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `groups_cascade_delete` AFTER DELETE ON `groups` BEGIN
  DELETE FROM `group_members` WHERE `group_id` = OLD.`id`;
  DELETE FROM `group_members` WHERE `member_id` = OLD.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `group_members_event_insert` AFTER INSERT ON `group_members` BEGIN
  UPDATE `groups` SET `member_count` = `member_count` + 1 WHERE `id` = NEW.`group_id`;
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES ('group.member_added', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.`integration_id`,
      json_object('groupId', NEW.`group_id`, CASE NEW.`member_type` WHEN 'User' THEN 'userId' ELSE 'memberGroupId' END, NEW.`member_id`));
END;
--> statement-breakpoint
-- No member event when either side is being removed (its deletion event implies it) or when the
-- whole integration is being deleted (integration.deleted does).
CREATE TRIGGER `group_members_event_delete` AFTER DELETE ON `group_members` BEGIN
  UPDATE `groups` SET `member_count` = `member_count` - 1 WHERE `id` = OLD.`group_id`;
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'group.member_removed', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.`integration_id`,
      json_object('groupId', OLD.`group_id`, CASE OLD.`member_type` WHEN 'User' THEN 'userId' ELSE 'memberGroupId' END, OLD.`member_id`)
    WHERE EXISTS (SELECT 1 FROM `groups` WHERE `id` = OLD.`group_id`)
      AND (EXISTS (SELECT 1 FROM `users` WHERE `id` = OLD.`member_id`) OR EXISTS (SELECT 1 FROM `groups` WHERE `id` = OLD.`member_id`))
      AND NOT EXISTS (SELECT 1 FROM `integrations` WHERE `id` = OLD.`integration_id` AND `deleting_at` IS NOT NULL);
END;
--> statement-breakpoint
CREATE TRIGGER `devices_event_insert` AFTER INSERT ON `devices` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES ('device.assigned', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT `integration_id` FROM `users` WHERE `id` = NEW.`user_id`),
      json_object('id', NEW.`id`, 'name', NEW.`name`, 'userId', NEW.`user_id`, 'assignedAt', NEW.`assigned_at`));
END;
--> statement-breakpoint
-- A move is an unassignment from the old user and an assignment to the new one; a new name for a
-- device that stays is its assignment again, with the name.
CREATE TRIGGER `devices_event_update` AFTER UPDATE ON `devices` WHEN OLD.`user_id` IS NOT NEW.`user_id` OR OLD.`name` IS NOT NEW.`name` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    SELECT 'device.unassigned', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT `integration_id` FROM `users` WHERE `id` = OLD.`user_id`),
      json_object('id', OLD.`id`, 'name', OLD.`name`, 'userId', OLD.`user_id`, 'assignedAt', OLD.`assigned_at`)
    WHERE OLD.`user_id` IS NOT NEW.`user_id`;
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES ('device.assigned', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT `integration_id` FROM `users` WHERE `id` = NEW.`user_id`),
      json_object('id', NEW.`id`, 'name', NEW.`name`, 'userId', NEW.`user_id`, 'assignedAt', NEW.`assigned_at`));
END;
--> statement-breakpoint
CREATE TRIGGER `devices_event_delete` AFTER DELETE ON `devices` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES ('device.unassigned', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT `integration_id` FROM `users` WHERE `id` = OLD.`user_id`),
      json_object('id', OLD.`id`, 'name', OLD.`name`, 'userId', OLD.`user_id`, 'assignedAt', OLD.`assigned_at`));
END;
--> statement-breakpoint
CREATE TRIGGER `integrations_event_insert` AFTER INSERT ON `integrations` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES ('integration.created', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.`id`,
      json_object('id', NEW.`id`, 'name', NEW.`name`, 'kind', NEW.`kind`, 'createdAt', NEW.`created_at`));
END;
--> statement-breakpoint
CREATE TRIGGER `integrations_event_delete` AFTER DELETE ON `integrations` BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES ('integration.deleted', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.`id`,
      json_object('id', OLD.`id`, 'name', OLD.`name`, 'kind', OLD.`kind`, 'createdAt', OLD.`created_at`,
        'removedUsers', coalesce(json_extract(OLD.`deletion`, '$.removedUsers'), 0),
        'keptUsers', coalesce(json_extract(OLD.`deletion`, '$.keptUsers'), 0)));
END;
--> statement-breakpoint
CREATE TRIGGER `sync_runs_event` AFTER UPDATE OF `status` ON `sync_runs` WHEN OLD.`status` = 'running' AND NEW.`status` <> 'running' BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES (CASE NEW.`status` WHEN 'succeeded' THEN 'sync.completed' ELSE 'sync.failed' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
      NEW.`integration_id`,
      json_object('id', NEW.`id`, 'integrationId', NEW.`integration_id`, 'trigger', NEW.`trigger`, 'status', NEW.`status`, 'mode', NEW.`mode`,
        'startedAt', NEW.`started_at`, 'finishedAt', NEW.`finished_at`, 'usersCreated', NEW.`users_created`,
        'usersUpdated', NEW.`users_updated`, 'usersArchived', NEW.`users_archived`, 'usersRemoved', NEW.`users_removed`,
        'groupsChanged', NEW.`groups_changed`, 'error', NEW.`error`));
END;
--> statement-breakpoint
INSERT INTO `feed_state` (`id`, `pruned_through`) VALUES (1, 0);
