-- The process that owns a run, so a later command can tell a run whose process died (status 'abandoned') from one
-- still going. Runs started before this migration have no owner and are left as they are.
ALTER TABLE runs ADD COLUMN owner_host VARCHAR(255);
ALTER TABLE runs ADD COLUMN owner_pid BIGINT;
ALTER TABLE runs ADD COLUMN owner_started VARCHAR(40);   -- the process start instant, ISO-8601 UTC ('' if unknown)
CREATE INDEX runs_status ON runs (status, owner_host);
