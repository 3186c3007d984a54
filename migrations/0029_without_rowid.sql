-- Custom migration (drizzle-kit generate --custom; drizzle cannot declare WITHOUT ROWID). Email index
-- rows and memberships are small rows looked up by their primary key, which as rowid tables was an
-- index of its own: every row written was two (the row and its key), and D1 counts both. WITHOUT
-- ROWID the key is the table, so each is one row written fewer, on every path (SCIM, imports), and
-- a group's members are one range of the table itself. Rebuilt through a copy rather than renamed,
-- so the triggers and views that name these tables are left exactly as they are; the copy and the
-- drop run no trigger. The triggers on group_members go with it and are created again as in 0016.
CREATE TABLE `user_emails_copy` AS SELECT `user_id`, `integration_id`, `position`, `value_key`, `type_key` FROM `user_emails`;
--> statement-breakpoint
DROP TABLE `user_emails`;
--> statement-breakpoint
CREATE TABLE `user_emails` (
	`user_id` text NOT NULL,
	`integration_id` text NOT NULL,
	`position` integer NOT NULL,
	`value_key` text NOT NULL,
	`type_key` text,
	PRIMARY KEY(`user_id`, `position`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `user_emails` SELECT * FROM `user_emails_copy`;
--> statement-breakpoint
DROP TABLE `user_emails_copy`;
--> statement-breakpoint
CREATE INDEX `user_emails_value` ON `user_emails` (`integration_id`,`value_key`);
--> statement-breakpoint
CREATE TABLE `group_members_copy` AS SELECT `group_id`, `member_id`, `member_type`, `integration_id` FROM `group_members`;
--> statement-breakpoint
DROP TABLE `group_members`;
--> statement-breakpoint
CREATE TABLE `group_members` (
	`group_id` text NOT NULL,
	`member_id` text NOT NULL,
	`member_type` text NOT NULL,
	`integration_id` text NOT NULL,
	PRIMARY KEY(`group_id`, `member_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `group_members` SELECT * FROM `group_members_copy`;
--> statement-breakpoint
DROP TABLE `group_members_copy`;
--> statement-breakpoint
CREATE INDEX `group_members_member` ON `group_members` (`member_id`);
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
