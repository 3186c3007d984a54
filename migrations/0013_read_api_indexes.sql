CREATE INDEX `users_status_order` ON `users` (`integration_id`,`active`,`id`);--> statement-breakpoint
CREATE INDEX `users_all_status_order` ON `users` (`active`,`id`);--> statement-breakpoint
CREATE INDEX `users_all_updated` ON `users` (`updated_at`,`id`);