-- Principals, roles and grants. Objects: '*' (everything), 'namespace:<ns>', 'table:<ns>.<table>', 'model:<name>',
-- 'model:*'. Privileges: SELECT, MODIFY (tables, namespaces), EXECUTE, CREATE_VERSION, PROMOTE (models), ADMIN ('*').

CREATE TABLE principals (
  name       VARCHAR(255) PRIMARY KEY,
  created_by VARCHAR(255) NOT NULL,
  created_at VARCHAR(40)  NOT NULL
);

CREATE TABLE roles (
  name       VARCHAR(255) PRIMARY KEY,
  created_by VARCHAR(255) NOT NULL,
  created_at VARCHAR(40)  NOT NULL
);

CREATE TABLE role_members (
  role      VARCHAR(255) NOT NULL REFERENCES roles (name),
  principal VARCHAR(255) NOT NULL REFERENCES principals (name),
  PRIMARY KEY (role, principal)
);

CREATE TABLE grants (
  privilege    VARCHAR(32)  NOT NULL,
  object       VARCHAR(512) NOT NULL,
  grantee_kind VARCHAR(16)  NOT NULL,   -- principal | role
  grantee      VARCHAR(255) NOT NULL,
  granted_by   VARCHAR(255) NOT NULL,
  granted_at   VARCHAR(40)  NOT NULL,
  PRIMARY KEY (privilege, object, grantee_kind, grantee)
);

-- One row per setting; 'bootstrap-admin' names the principal that created the catalog and became its admin.
CREATE TABLE catalog_settings (
  name  VARCHAR(64) PRIMARY KEY,
  value TEXT        NOT NULL
);
