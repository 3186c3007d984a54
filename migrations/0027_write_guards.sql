CREATE TABLE `write_guards` (
	`failed` text NOT NULL
);
