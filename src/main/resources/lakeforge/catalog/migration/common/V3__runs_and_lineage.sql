-- Runs of jobs and what they read and wrote; lineage is derived from them.

CREATE TABLE runs (
  id         VARCHAR(36)  PRIMARY KEY,    -- a UUID
  job        VARCHAR(64)  NOT NULL,       -- e.g. tables.ingest, tables.delete, tables.maintain, tables.apply
  principal  VARCHAR(255) NOT NULL,
  started_at VARCHAR(40)  NOT NULL,
  ended_at   VARCHAR(40),
  status     VARCHAR(16)  NOT NULL,       -- running | succeeded | failed
  parameters TEXT         NOT NULL,       -- JSON object
  metrics    TEXT,                        -- JSON object
  error      TEXT
);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE run_io (
  run_id    VARCHAR(36)   NOT NULL REFERENCES runs (id),
  direction VARCHAR(8)    NOT NULL,       -- input | output
  kind      VARCHAR(16)   NOT NULL,       -- table | model | path
  name      VARCHAR(1024) NOT NULL,       -- shop.orders | churn | s3a://bucket/raw/...
  version   VARCHAR(64)   NOT NULL,       -- table version / snapshot id, model version; '' for a path
  PRIMARY KEY (run_id, direction, kind, name)
);
CREATE INDEX run_io_artifact ON run_io (kind, name, version);

-- One row per edge: an input of a succeeded run -> an output of the same run.
CREATE VIEW lineage AS
SELECT i.kind AS from_kind, i.name AS from_name, i.version AS from_version,
       r.id AS run_id, r.job AS job, r.ended_at AS at,
       o.kind AS to_kind, o.name AS to_name, o.version AS to_version
FROM runs r
JOIN run_io i ON i.run_id = r.id AND i.direction = 'input'
JOIN run_io o ON o.run_id = r.id AND o.direction = 'output'
WHERE r.status = 'succeeded';
