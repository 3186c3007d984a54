-- Custom migration (drizzle-kit generate --custom): triggers keep the per-integration counters
-- exact inside the same transaction as each write, so counts and unfiltered list totals cost one
-- row read instead of a scan of the integration's users.
CREATE TRIGGER `users_count_insert` AFTER INSERT ON `users` BEGIN
  UPDATE `integrations`
     SET `active_users` = `active_users` + NEW.`active`,
         `archived_users` = `archived_users` + (1 - NEW.`active`)
   WHERE `id` = NEW.`integration_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_delete` AFTER DELETE ON `users` BEGIN
  UPDATE `integrations`
     SET `active_users` = `active_users` - OLD.`active`,
         `archived_users` = `archived_users` - (1 - OLD.`active`)
   WHERE `id` = OLD.`integration_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_active` AFTER UPDATE OF `active` ON `users` WHEN OLD.`active` <> NEW.`active` BEGIN
  UPDATE `integrations`
     SET `active_users` = `active_users` + NEW.`active` - OLD.`active`,
         `archived_users` = `archived_users` - NEW.`active` + OLD.`active`
   WHERE `id` = NEW.`integration_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `groups_count_insert` AFTER INSERT ON `groups` BEGIN
  UPDATE `integrations` SET `group_count` = `group_count` + 1 WHERE `id` = NEW.`integration_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `groups_count_delete` AFTER DELETE ON `groups` BEGIN
  UPDATE `integrations` SET `group_count` = `group_count` - 1 WHERE `id` = OLD.`integration_id`;
END;
