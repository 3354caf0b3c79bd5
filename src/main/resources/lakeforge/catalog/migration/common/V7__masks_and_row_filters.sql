-- Fine-grained access: column masks and row filters, applied by the session extension to every read.

-- A mask replaces a column's value with a SQL expression (e.g. sha2(email, 256), '***') for everyone
-- not in the exempt role (admins included, unless they are in it).
CREATE TABLE column_masks (
  table_name  VARCHAR(255) NOT NULL,   -- namespace.table
  column_name VARCHAR(255) NOT NULL,
  expression  TEXT         NOT NULL,   -- Spark SQL over the table's columns
  exempt_role VARCHAR(255),            -- members of this role see the raw value
  created_by  VARCHAR(255) NOT NULL,
  created_at  VARCHAR(40)  NOT NULL,
  PRIMARY KEY (table_name, column_name)
);

-- A row filter limits the rows a principal (or a role's members) sees to those matching a predicate.
-- A principal with several filters on one table (its own and its roles') sees the rows of any of them.
CREATE TABLE row_filters (
  table_name   VARCHAR(255) NOT NULL,
  grantee_kind VARCHAR(16)  NOT NULL,  -- principal | role
  grantee      VARCHAR(255) NOT NULL,
  predicate    TEXT         NOT NULL,  -- Spark SQL boolean expression over the table's columns
  created_by   VARCHAR(255) NOT NULL,
  created_at   VARCHAR(40)  NOT NULL,
  PRIMARY KEY (table_name, grantee_kind, grantee)
);
