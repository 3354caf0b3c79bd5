-- Lakeforge catalog, version 1 (SQLite). Times are ISO-8601 UTC strings; JSON columns hold JSON text.

CREATE TABLE datasets (
  name            VARCHAR(255) PRIMARY KEY,   -- namespace.table
  format          VARCHAR(16)  NOT NULL,      -- delta | iceberg
  location        TEXT         NOT NULL,
  spec            TEXT         NOT NULL,      -- the applied table spec (columns, key, retention) as JSON
  owner           VARCHAR(255) NOT NULL,
  current_version BIGINT,                     -- Delta version / Iceberg snapshot id after the last Lakeforge write
  created_at      VARCHAR(40)  NOT NULL,
  updated_at      VARCHAR(40)  NOT NULL
);

CREATE TABLE models (
  name        VARCHAR(255) PRIMARY KEY,
  description TEXT,
  owner       VARCHAR(255) NOT NULL,
  created_at  VARCHAR(40)  NOT NULL
);

CREATE TABLE model_versions (
  model        VARCHAR(255) NOT NULL REFERENCES models (name),
  version      INTEGER      NOT NULL,
  flavor       VARCHAR(32)  NOT NULL,       -- onnx | torchscript
  artifact_uri TEXT         NOT NULL,
  sha256       CHAR(64)     NOT NULL,
  size_bytes   BIGINT       NOT NULL,
  signature    TEXT,                        -- JSON: inputs and outputs (name, type, shape)
  description  TEXT,
  tags         TEXT         NOT NULL,       -- JSON object
  created_by   VARCHAR(255) NOT NULL,
  created_at   VARCHAR(40)  NOT NULL,
  PRIMARY KEY (model, version)
);

CREATE TABLE model_aliases (
  model      VARCHAR(255) NOT NULL,
  alias      VARCHAR(255) NOT NULL,
  version    INTEGER      NOT NULL,
  updated_by VARCHAR(255) NOT NULL,
  updated_at VARCHAR(40)  NOT NULL,
  PRIMARY KEY (model, alias),
  FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        VARCHAR(40)  NOT NULL,
  principal VARCHAR(255) NOT NULL,
  action    VARCHAR(64)  NOT NULL,   -- e.g. model.register, model.alias, table.apply
  object    VARCHAR(512) NOT NULL,   -- e.g. model:churn/3, table:shop.orders
  outcome   VARCHAR(16)  NOT NULL,   -- allowed | denied | done | failed
  detail    TEXT
);
CREATE INDEX audit_log_principal ON audit_log (principal, at);
CREATE INDEX audit_log_object ON audit_log (object, at);

-- The audit log is append-only: no statement may change or remove a row.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be updated');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted');
END;
