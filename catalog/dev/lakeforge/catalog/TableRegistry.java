package dev.lakeforge.catalog;

import dev.lakeforge.core.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The catalog's list of Lakeforge tables: name, format, location and the applied spec. It is what makes table names
 * survive across processes on the embedded default (Delta tables are re-attached to each new session from it) and
 * what lets the CLI resolve a table's format from its name.
 */
public final class TableRegistry {
  private final CatalogDatabase db;

  public TableRegistry(CatalogDatabase db) {
    this.db = db;
    execute(
        "CREATE TABLE IF NOT EXISTS lakeforge_tables ("
            + " name VARCHAR(255) PRIMARY KEY,"
            + " format VARCHAR(16) NOT NULL,"
            + " location VARCHAR(2048) NOT NULL,"
            + " spec TEXT NOT NULL,"
            + " updated_at VARCHAR(40) NOT NULL)");
  }

  /** Adds or replaces the entry for {@code table.name()}. */
  public void put(RegisteredTable table) {
    String sql =
        "INSERT INTO lakeforge_tables (name, format, location, spec, updated_at) VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT (name) DO UPDATE SET format = excluded.format, location = excluded.location,"
            + " spec = excluded.spec, updated_at = excluded.updated_at";
    try (Connection c = db.connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, table.name().toString());
      ps.setString(2, table.format());
      ps.setString(3, table.location());
      ps.setString(4, table.spec());
      ps.setString(5, java.time.Instant.now().toString());
      ps.executeUpdate();
    } catch (SQLException e) {
      throw failure("register table " + table.name(), e);
    }
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
    String sql = "SELECT name, format, location, spec FROM lakeforge_tables " + where + " ORDER BY name";
    try (Connection c = db.connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (arg != null) {
        ps.setString(1, arg);
      }
      List<RegisteredTable> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(
              new RegisteredTable(
                  TableName.parse(rs.getString(1)), rs.getString(2), rs.getString(3), rs.getString(4)));
        }
      }
      return out;
    } catch (SQLException e) {
      throw failure("read the table registry", e);
    }
  }

  private void execute(String ddl) {
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      s.execute(ddl);
    } catch (SQLException e) {
      throw failure("prepare the table registry", e);
    }
  }

  private CatalogException failure(String what, SQLException e) {
    return new CatalogException(
        String.format("Cannot %s in the catalog %s: %s", what, db.url(), e.getMessage()), e);
  }
}
