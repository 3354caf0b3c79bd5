package dev.lakeforge.catalog;

import dev.lakeforge.core.TableName;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The catalog's list of Lakeforge tables: name, format, location and the applied spec. It is what
 * makes table names survive across processes on the embedded default (Delta tables are re-attached
 * to each new session from it) and what lets the CLI resolve a table's format from its name.
 */
public final class TableRegistry {
  private final CatalogDatabase db;

  public TableRegistry(CatalogDatabase db) {
    this.db = db;
  }

  /**
   * Adds or replaces the entry for {@code table.name()}. The first principal to register a table
   * becomes its owner; re-applying keeps the owner.
   */
  public void put(RegisteredTable table, Principal by) {
    String now = java.time.Instant.now().toString();
    String sql =
        "INSERT INTO datasets (name, format, location, spec, owner, created_at, updated_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (name) DO UPDATE SET format = excluded.format, location = excluded.location,"
            + " spec = excluded.spec, updated_at = excluded.updated_at";
    db.inTransaction(
        "register table " + table.name(),
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, table.name().toString());
            ps.setString(2, table.format());
            ps.setString(3, table.location());
            ps.setString(4, table.spec());
            ps.setString(5, by.name());
            ps.setString(6, now);
            ps.setString(7, now);
            ps.executeUpdate();
          }
          AuditLog.append(
              c, by, "table.apply", "table:" + table.name(), AuditLog.DONE, table.format());
          return null;
        });
  }

  /** Records the table version a Lakeforge write left behind. */
  public void recordVersion(TableName name, long version) {
    db.inTransaction(
        "record the version of " + name,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE datasets SET current_version = ?, updated_at = ? WHERE name = ?")) {
            ps.setLong(1, version);
            ps.setString(2, java.time.Instant.now().toString());
            ps.setString(3, name.toString());
            ps.executeUpdate();
          }
          return null;
        });
  }

  /** The entry for {@code name}, if registered. */
  public Optional<RegisteredTable> find(TableName name) {
    List<RegisteredTable> rows = query("WHERE name = ?", name.toString());
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
  }

  /** Every registered table, by name. */
  public List<RegisteredTable> list() {
    return query("", null);
  }

  private List<RegisteredTable> query(String where, String arg) {
    String sql = "SELECT name, format, location, spec FROM datasets " + where + " ORDER BY name";
    return db.read(
        "read the table registry",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (arg != null) {
              ps.setString(1, arg);
            }
            List<RegisteredTable> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(
                    new RegisteredTable(
                        TableName.parse(rs.getString(1)),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4)));
              }
            }
            return out;
          }
        });
  }
}
