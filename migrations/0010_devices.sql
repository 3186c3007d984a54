CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`user_id` text NOT NULL,
	`assigned_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `devices_user` ON `devices` (`user_id`,`id`);