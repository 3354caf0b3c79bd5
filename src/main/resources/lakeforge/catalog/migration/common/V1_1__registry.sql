-- Lakeforge catalog: tables and models (portable SQL). Times are ISO-8601 UTC strings; JSON columns hold JSON text.

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
