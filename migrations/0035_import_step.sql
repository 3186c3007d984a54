ALTER TABLE `users` ADD `import_step` text;--> statement-breakpoint
ALTER TABLE `users` ADD `import_change` text;