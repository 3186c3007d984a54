CREATE INDEX `groups_last_modified` ON `groups` (`integration_id`,`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `users_created` ON `users` (`integration_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `users_last_modified` ON `users` (`integration_id`,`updated_at`,`id`);