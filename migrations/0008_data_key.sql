ALTER TABLE `groups` ADD `data_key` text;--> statement-breakpoint
ALTER TABLE `users` ADD `data_key` text;