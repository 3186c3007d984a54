CREATE TABLE `scim_activity` (
	`id` integer PRIMARY KEY NOT NULL,
	`integration_id` text NOT NULL,
	`at` text NOT NULL,
	`method` text NOT NULL,
	`path` text NOT NULL,
	`status` integer NOT NULL,
	`scim_type` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `scim_activity_integration` ON `scim_activity` (`integration_id`,`id`);