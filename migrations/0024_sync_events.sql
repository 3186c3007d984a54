-- sync.completed / sync.failed only for real runs that succeeded or failed: a held run is not a
-- failure (it waits for an admin, and its approval ends it succeeded), a cancelled or rejected one
-- changed nothing it held back, and a dry run changed nothing at all.
DROP TRIGGER `sync_runs_event`;
--> statement-breakpoint
CREATE TRIGGER `sync_runs_event` AFTER UPDATE OF `status` ON `sync_runs`
  WHEN OLD.`status` = 'running' AND NEW.`status` IN ('succeeded', 'failed') AND NEW.`dry_run` = 0 BEGIN
  INSERT INTO `events` (`type`, `occurred_at`, `integration_id`, `data`)
    VALUES (CASE NEW.`status` WHEN 'succeeded' THEN 'sync.completed' ELSE 'sync.failed' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
      NEW.`integration_id`,
      json_object('id', NEW.`id`, 'integrationId', NEW.`integration_id`, 'trigger', NEW.`trigger`, 'status', NEW.`status`, 'mode', NEW.`mode`,
        'startedAt', NEW.`started_at`, 'finishedAt', NEW.`finished_at`, 'usersCreated', NEW.`users_created`,
        'usersUpdated', NEW.`users_updated`, 'usersArchived', NEW.`users_archived`, 'usersRemoved', NEW.`users_removed`,
        'groupsChanged', NEW.`groups_changed`, 'error', NEW.`error`));
END;
