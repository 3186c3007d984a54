CREATE TABLE `sync_changes` (
	`run_id` text NOT NULL,
	`target_id` text NOT NULL,
	`target` text NOT NULL,
	`action` text NOT NULL,
	`version` integer,
	`reason` text NOT NULL,
	PRIMARY KEY(`run_id`, `target_id`)
) WITHOUT ROWID;
--> statement-breakpoint
DROP INDEX `sync_runs_one_running`;--> statement-breakpoint
ALTER TABLE `sync_runs` ADD `instance_id` text;--> statement-breakpoint
ALTER TABLE `sync_runs` ADD `held_links` text;--> statement-breakpoint
ALTER TABLE `sync_runs` ADD `held_reason` text;--> statement-breakpoint
ALTER TABLE `sync_runs` ADD `cancel_requested_at` text;--> statement-breakpoint
CREATE UNIQUE INDEX `sync_runs_one_open` ON `sync_runs` (`integration_id`) WHERE status IN ('running', 'held');--> statement-breakpoint
ALTER TABLE `integrations` ADD `safeguard_percent` integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE `integrations` ADD `safeguard_max_users` integer DEFAULT 500 NOT NULL;--> statement-breakpoint
ALTER TABLE `integrations` ADD `hold_next_removals` integer DEFAULT false NOT NULL;