-- The events table without AUTOINCREMENT and without its integration index: each costs a row written
-- per event (sqlite_sequence, the index entry), and the outbox may cost one (see schema.ts). Rebuilt
-- without ALTER TABLE RENAME, which refuses while the outbox triggers name a table that is briefly
-- gone; the triggers fire by name, so they write into the new table as they did into the old.
CREATE TABLE `events_copy` (
	`id` integer PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`occurred_at` text NOT NULL,
	`integration_id` text,
	`data` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `events_copy` SELECT `id`, `type`, `occurred_at`, `integration_id`, `data` FROM `events`;
--> statement-breakpoint
DROP TABLE `events`;
--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`occurred_at` text NOT NULL,
	`integration_id` text,
	`data` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `events` SELECT * FROM `events_copy`;
--> statement-breakpoint
DROP TABLE `events_copy`;
