ALTER TABLE `sync_runs` ADD `rows_read` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sync_runs` ADD `rows_written` integer DEFAULT 0 NOT NULL;