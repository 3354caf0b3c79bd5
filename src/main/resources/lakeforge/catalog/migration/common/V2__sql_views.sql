-- Names for SQL over the catalog (lakeforge sql "select * from lakeforge.audit").
CREATE VIEW audit AS SELECT id, at, principal, action, object, outcome, detail FROM audit_log;
