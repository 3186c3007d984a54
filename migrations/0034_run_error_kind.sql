ALTER TABLE `sync_runs` ADD `error_kind` text;--> statement-breakpoint
-- Runs that failed before this column: the console told a refused credential by its words, so the
-- same words mark them (LIKE is case-insensitive for ASCII), and an integration whose last run was
-- refused still shows "needs re-authentication".
UPDATE `sync_runs` SET `error_kind` = 'auth' WHERE `status` = 'failed' AND (
  `error` LIKE '%re-authenticate%' OR `error` LIKE '%rejected the access token%' OR `error` LIKE '%refused the admin%'
  OR `error` LIKE '%refused the service account%' OR `error` LIKE '%invalid_client%' OR `error` LIKE '%invalid_grant%'
  OR `error` LIKE '%AADSTS%'
);
