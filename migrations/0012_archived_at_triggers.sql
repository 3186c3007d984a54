-- Custom migration (drizzle-kit generate --custom): archived_at follows `active` on every write path
-- (SCIM active=false, imports, the sweep, restores) without each of them having to remember it. It
-- costs one row written per archive or restore, nothing on other writes.
UPDATE `users` SET `archived_at` = `updated_at` WHERE `active` = 0 AND `archived_at` IS NULL;
--> statement-breakpoint
CREATE TRIGGER `users_archived_at_insert` AFTER INSERT ON `users` WHEN NEW.`active` = 0 BEGIN
  UPDATE `users` SET `archived_at` = NEW.`created_at` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_archived_at_update` AFTER UPDATE OF `active` ON `users` WHEN OLD.`active` <> NEW.`active` BEGIN
  UPDATE `users` SET `archived_at` = CASE WHEN NEW.`active` = 0 THEN NEW.`updated_at` END WHERE `id` = NEW.`id`;
END;
