CREATE TABLE `group_members` (
	`group_id` text NOT NULL,
	`member_id` text NOT NULL,
	`member_type` text NOT NULL,
	`integration_id` text NOT NULL,
	PRIMARY KEY(`group_id`, `member_id`)
);
--> statement-breakpoint
CREATE INDEX `group_members_member` ON `group_members` (`member_id`);--> statement-breakpoint
CREATE TABLE `groups` (
	`id` text PRIMARY KEY NOT NULL,
	`integration_id` text NOT NULL,
	`display_name` text NOT NULL,
	`display_name_key` text NOT NULL,
	`external_id` text,
	`data` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `groups_display_name` ON `groups` (`integration_id`,`display_name_key`);--> statement-breakpoint
CREATE INDEX `groups_external_id` ON `groups` (`integration_id`,`external_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `groups_list_order` ON `groups` (`integration_id`,`id`);--> statement-breakpoint
CREATE TABLE `integrations` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`name_key` text NOT NULL,
	`current_token_id` text,
	`current_token_hash` text,
	`created_at` text NOT NULL,
	`last_activity_at` text,
	`active_users` integer DEFAULT 0 NOT NULL,
	`archived_users` integer DEFAULT 0 NOT NULL,
	`group_count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `integrations_name_key` ON `integrations` (`name_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `integrations_token_hash` ON `integrations` (`current_token_hash`);--> statement-breakpoint
CREATE TABLE `user_emails` (
	`user_id` text NOT NULL,
	`integration_id` text NOT NULL,
	`position` integer NOT NULL,
	`value_key` text NOT NULL,
	`type_key` text,
	PRIMARY KEY(`user_id`, `position`)
);
--> statement-breakpoint
CREATE INDEX `user_emails_value` ON `user_emails` (`integration_id`,`value_key`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`integration_id` text NOT NULL,
	`user_name` text NOT NULL,
	`user_name_key` text NOT NULL,
	`external_id` text,
	`display_name` text,
	`active` integer NOT NULL,
	`data` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_user_name` ON `users` (`integration_id`,`user_name_key`);--> statement-breakpoint
CREATE INDEX `users_external_id` ON `users` (`integration_id`,`external_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_list_order` ON `users` (`integration_id`,`id`);