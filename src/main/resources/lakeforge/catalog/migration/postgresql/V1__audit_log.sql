-- The audit log (PostgreSQL): the identity column and the append-only triggers are dialect-specific.

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
