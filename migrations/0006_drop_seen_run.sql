ALTER TABLE `groups` DROP COLUMN `seen_run`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `seen_run`;