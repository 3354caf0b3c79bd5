-- The audit log (SQLite): the identity column and the append-only triggers are dialect-specific.

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
