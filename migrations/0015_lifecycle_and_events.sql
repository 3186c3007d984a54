CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`occurred_at` text NOT NULL,
	`integration_id` text,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_integration` ON `events` (`integration_id`,`id`);--> statement-breakpoint
CREATE TABLE `feed_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`pruned_through` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE `groups` ADD `member_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `groups_all_updated` ON `groups` (`updated_at`,`id`);--> statement-breakpoint
ALTER TABLE `integrations` ADD `hidden_users` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `integrations` ADD `deleting_at` text;--> statement-breakpoint
ALTER TABLE `integrations` ADD `deletion` text;--> statement-breakpoint
ALTER TABLE `users` ADD `deleted_at` text;--> statement-breakpoint
ALTER TABLE `users` ADD `detached_from` text;