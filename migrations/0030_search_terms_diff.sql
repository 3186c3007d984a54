-- Custom migration (drizzle-kit generate --custom). When a searchable value changes, remove only
-- the terms the user no longer has and add only the new ones (INSERT OR IGNORE keeps the others),
-- rather than rewriting every term: each term is three rows written (the row and two indexes), so
-- a displayName PATCH wrote 12 rows and now writes 8.
DROP TRIGGER `users_search_update`;
--> statement-breakpoint
CREATE TRIGGER `users_search_update` AFTER UPDATE ON `users`
WHEN OLD.`user_name` IS NOT NEW.`user_name` OR OLD.`display_name` IS NOT NEW.`display_name`
  OR json_array(json_extract(OLD.`data_key`, '$.name'), json_extract(OLD.`data_key`, '$.emails'), json_extract(OLD.`data`, '$.name'), json_extract(OLD.`data`, '$.emails'))
  IS NOT json_array(json_extract(NEW.`data_key`, '$.name'), json_extract(NEW.`data_key`, '$.emails'), json_extract(NEW.`data`, '$.name'), json_extract(NEW.`data`, '$.emails'))
BEGIN
  DELETE FROM `user_search` WHERE `user_id` = NEW.`id`
    AND `term` NOT IN (SELECT `term` FROM `user_search_terms` WHERE `user_id` = NEW.`id`);
  INSERT OR IGNORE INTO `user_search` (`term`, `user_id`, `integration_id`)
    SELECT `term`, `user_id`, `integration_id` FROM `user_search_terms` WHERE `user_id` = NEW.`id`;
END;
