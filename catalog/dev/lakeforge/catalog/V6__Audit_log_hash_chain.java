package dev.lakeforge.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * Catalog migration 6 (a Java migration, named the way Flyway reads its version): chains the audit
 * log. Adds {@code actor}, {@code prev_hash} and {@code row_hash}; sets the actor of existing rows
 * to their principal (no impersonation was recorded before); drops the append-only triggers, hashes
 * the existing rows in id order with {@link AuditLog#rowHash}, and re-creates the triggers, all in
 * the migration's one transaction; and re-creates the {@code audit} view with the new columns.
 */
@SuppressWarnings("checkstyle:TypeName")
public final class V6__Audit_log_hash_chain extends BaseJavaMigration {

  @Override
  public void migrate(Context context) throws SQLException {
    Connection c = context.getConnection();
    CatalogDatabase.Vendor vendor =
        c.getMetaData()
                .getDatabaseProductName()
                .toLowerCase(java.util.Locale.ROOT)
                .contains("postgres")
            ? CatalogDatabase.Vendor.POSTGRESQL
            : CatalogDatabase.Vendor.SQLITE;
    try (Statement s = c.createStatement()) {
      for (String column :
          List.of("actor VARCHAR(255)", "prev_hash VARCHAR(64)", "row_hash VARCHAR(64)")) {
        s.execute("ALTER TABLE audit_log ADD COLUMN " + column);
      }
      for (String trigger : AuditLog.triggerNames(vendor)) {
        s.execute(
            "DROP TRIGGER IF EXISTS "
                + trigger
                + (vendor == CatalogDatabase.Vendor.POSTGRESQL ? " ON audit_log" : ""));
      }
      s.execute("UPDATE audit_log SET actor = principal WHERE actor IS NULL");
    }
    List<Object[]> rows = new ArrayList<>();
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT id, at, principal, actor, action, object, outcome, detail FROM audit_log"
                    + " ORDER BY id");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.add(
            new Object[] {
              rs.getLong(1),
              new AuditLog.Content(
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getString(5),
                  rs.getString(6),
                  rs.getString(7),
                  rs.getString(8))
            });
      }
    }
    String prev = AuditLog.GENESIS;
    try (PreparedStatement ps =
        c.prepareStatement("UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE id = ?")) {
      for (Object[] row : rows) {
        String hash = AuditLog.rowHash(prev, (AuditLog.Content) row[1]);
        ps.setString(1, prev);
        ps.setString(2, hash);
        ps.setLong(3, (Long) row[0]);
        ps.addBatch();
        prev = hash;
      }
      ps.executeBatch();
    }
    AuditLog.createTriggers(c, vendor, AuditLog.triggerNames(vendor));
    try (Statement s = c.createStatement()) {
      s.execute("DROP VIEW IF EXISTS audit");
      s.execute(
          "CREATE VIEW audit AS SELECT id, at, principal, actor, action, object, outcome, detail,"
              + " prev_hash, row_hash FROM audit_log");
    }
  }
}
