-- Lakeforge catalog, version 1 (PostgreSQL). Times are ISO-8601 UTC strings, as on SQLite, so both read the same.

CREATE TABLE datasets (
  name            VARCHAR(255) PRIMARY KEY,
  format          VARCHAR(16)  NOT NULL,
  location        TEXT         NOT NULL,
  spec            TEXT         NOT NULL,
  owner           VARCHAR(255) NOT NULL,
  current_version BIGINT,
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
  flavor       VARCHAR(32)  NOT NULL,
  artifact_uri TEXT         NOT NULL,
  sha256       CHAR(64)     NOT NULL,
  size_bytes   BIGINT       NOT NULL,
  signature    TEXT,
  description  TEXT,
  tags         TEXT         NOT NULL,
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
  id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at        VARCHAR(40)  NOT NULL,
  principal VARCHAR(255) NOT NULL,
  action    VARCHAR(64)  NOT NULL,
  object    VARCHAR(512) NOT NULL,
  outcome   VARCHAR(16)  NOT NULL,
  detail    TEXT
);
CREATE INDEX audit_log_principal ON audit_log (principal, at);
CREATE INDEX audit_log_object ON audit_log (object, at);

-- The audit log is append-only, enforced by the database for every role (triggers), and not grantable to others.
CREATE FUNCTION lakeforge_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: rows cannot be %', lower(TG_OP) || 'd';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION lakeforge_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION lakeforge_audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
