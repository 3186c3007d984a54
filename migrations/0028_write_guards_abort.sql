-- Custom migration (drizzle-kit generate --custom). RAISE() is allowed only inside a trigger, so a
-- guard is an insert into write_guards that this trigger turns into an abort: D1 rolls back the
-- batch it is part of, and the message names the guard (src/directory/guards.ts reads it back).
CREATE TRIGGER `write_guards_abort` BEFORE INSERT ON `write_guards` BEGIN
  SELECT RAISE(ABORT, 'write guard failed: ' || NEW.`failed`);
END;
