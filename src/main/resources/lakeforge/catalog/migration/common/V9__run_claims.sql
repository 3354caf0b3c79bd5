-- One run at a time: a job that must not run twice at once (an inference job, by its name) starts its run with a
-- claim, and the database refuses a second running run with the same claim, between processes too. A run that ends
-- (succeeded, failed, or abandoned when its process died) leaves the index, so it frees its claim.
ALTER TABLE runs ADD COLUMN claim VARCHAR(255);   -- e.g. 'inference job score_customers'; NULL for most jobs
CREATE UNIQUE INDEX runs_running_claim ON runs (claim) WHERE status = 'running' AND claim IS NOT NULL;
