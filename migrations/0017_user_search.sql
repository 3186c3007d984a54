-- Custom migration (drizzle-kit generate --custom): the index behind `q` on GET /api/v1/users, a
-- case-insensitive prefix of userName, any email, displayName, given or family name. A prefix of
-- any of several fields cannot seek one index of the users table, so each user's folded terms get
-- a row here, kept by triggers on every write path; `q` is then one range of this table's key.
-- Terms come from data_key (folded in JS, src/scim/fold.ts), falling back to SQLite's ASCII lower()
-- for rows written before data_key existed. WITHOUT ROWID, keyed by user: a user's terms are one
-- range (rewritten only when a searchable value changes, and checked in a listing so that a user
-- with several matching terms is shown once); the two indexes order the matches for `q`.
CREATE VIEW `user_search_terms` AS
  SELECT u.`id` AS `user_id`, u.`integration_id` AS `integration_id`, t.value AS `term`
    FROM `users` AS u, json_each(json_array(
      coalesce(json_extract(u.`data_key`, '$.userName'), lower(u.`user_name`)),
      coalesce(json_extract(u.`data_key`, '$.displayName'), lower(u.`display_name`)),
      coalesce(json_extract(u.`data_key`, '$.name.givenName'), lower(json_extract(u.`data`, '$.name.givenName'))),
      coalesce(json_extract(u.`data_key`, '$.name.familyName'), lower(json_extract(u.`data`, '$.name.familyName'))))) AS t
    WHERE t.type = 'text' AND t.value <> ''
  UNION ALL
  SELECT u.`id`, u.`integration_id`,
      CASE WHEN u.`data_key` IS NULL THEN lower(json_extract(e.value, '$.value')) ELSE json_extract(e.value, '$.value') END
    FROM `users` AS u, json_each(coalesce(u.`data_key`, u.`data`), '$.emails') AS e
    WHERE json_type(e.value, '$.value') = 'text' AND json_extract(e.value, '$.value') <> '';
--> statement-breakpoint
CREATE TABLE `user_search` (
  `term` text NOT NULL,
  `user_id` text NOT NULL,
  `integration_id` text NOT NULL,
  PRIMARY KEY (`user_id`, `term`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `user_search_term` ON `user_search` (`term`, `user_id`);
--> statement-breakpoint
CREATE INDEX `user_search_integration` ON `user_search` (`integration_id`, `term`, `user_id`);
--> statement-breakpoint
INSERT OR IGNORE INTO `user_search` (`term`, `user_id`, `integration_id`) SELECT `term`, `user_id`, `integration_id` FROM `user_search_terms`;
--> statement-breakpoint
CREATE TRIGGER `users_search_insert` AFTER INSERT ON `users` BEGIN
  INSERT OR IGNORE INTO `user_search` (`term`, `user_id`, `integration_id`)
    SELECT `term`, `user_id`, `integration_id` FROM `user_search_terms` WHERE `user_id` = NEW.`id`;
END;
--> statement-breakpoint
-- Only when a searchable value changed: a title, an archive or a device writes nothing here.
CREATE TRIGGER `users_search_update` AFTER UPDATE ON `users`
WHEN OLD.`user_name` IS NOT NEW.`user_name` OR OLD.`display_name` IS NOT NEW.`display_name`
  OR json_array(json_extract(OLD.`data_key`, '$.name'), json_extract(OLD.`data_key`, '$.emails'), json_extract(OLD.`data`, '$.name'), json_extract(OLD.`data`, '$.emails'))
  IS NOT json_array(json_extract(NEW.`data_key`, '$.name'), json_extract(NEW.`data_key`, '$.emails'), json_extract(NEW.`data`, '$.name'), json_extract(NEW.`data`, '$.emails'))
BEGIN
  DELETE FROM `user_search` WHERE `user_id` = NEW.`id`;
  INSERT OR IGNORE INTO `user_search` (`term`, `user_id`, `integration_id`)
    SELECT `term`, `user_id`, `integration_id` FROM `user_search_terms` WHERE `user_id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_search_delete` AFTER DELETE ON `users` BEGIN
  DELETE FROM `user_search` WHERE `user_id` = OLD.`id`;
END;
