DROP INDEX `groups_external_id`;--> statement-breakpoint
CREATE INDEX `groups_external_id` ON `groups` (`integration_id`,`external_id`,`id`);--> statement-breakpoint
DROP INDEX `users_external_id`;--> statement-breakpoint
CREATE INDEX `users_external_id` ON `users` (`integration_id`,`external_id`,`id`);