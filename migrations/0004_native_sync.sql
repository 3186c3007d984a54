CREATE TABLE `sync_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`integration_id` text NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`mode` text,
	`started_at` text NOT NULL,
	`finished_at` text,
	`pages` integer DEFAULT 0 NOT NULL,
	`users_created` integer DEFAULT 0 NOT NULL,
	`users_updated` integer DEFAULT 0 NOT NULL,
	`users_archived` integer DEFAULT 0 NOT NULL,
	`users_removed` integer DEFAULT 0 NOT NULL,
	`groups_changed` integer DEFAULT 0 NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `sync_runs_integration` ON `sync_runs` (`integration_id`,`started_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `sync_runs_one_running` ON `sync_runs` (`integration_id`) WHERE status = 'running';--> statement-breakpoint
ALTER TABLE `groups` ADD `seen_run` text;--> statement-breakpoint
ALTER TABLE `integrations` ADD `config` text;--> statement-breakpoint
ALTER TABLE `integrations` ADD `sealed_secrets` text;--> statement-breakpoint
ALTER TABLE `integrations` ADD `users_delta_link` text;--> statement-breakpoint
ALTER TABLE `integrations` ADD `groups_delta_link` text;--> statement-breakpoint
ALTER TABLE `users` ADD `seen_run` text;