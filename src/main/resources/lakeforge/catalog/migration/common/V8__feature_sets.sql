-- Feature sets registered by `lakeforge features apply`: the spec as written (YAML) and its sha256, so that
-- materialize, stats and training sets find a feature set by name, and a recorded run can tell whether the
-- definition it used has changed since.
CREATE TABLE feature_sets (
  name          VARCHAR(255)  PRIMARY KEY,  -- the feature set's name, e.g. customer_activity
  output_table  VARCHAR(255)  NOT NULL,     -- namespace.table it is materialized into
  source_table  VARCHAR(255)  NOT NULL,     -- namespace.table it is computed from
  spec          TEXT          NOT NULL,     -- the spec file's text (YAML)
  spec_sha256   VARCHAR(64)   NOT NULL,     -- sha256 of spec
  registered_by VARCHAR(255)  NOT NULL,     -- who registered it first
  registered_at VARCHAR(40)   NOT NULL,
  updated_at    VARCHAR(40)   NOT NULL
);
