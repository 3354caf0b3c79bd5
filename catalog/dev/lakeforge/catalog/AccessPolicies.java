package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Column masks and row filters: the fine-grained rules a read of a table obeys beyond SELECT.
 * Defining or dropping one needs ADMIN and is audited; the session extension applies them to every
 * read (joins, CTEs and subqueries included). The SQL texts are validated against the table by the
 * caller before they are stored.
 */
public final class AccessPolicies {
  private final CatalogDatabase db;

  public AccessPolicies(CatalogDatabase db) {
    this.db = Objects.requireNonNull(db, "db is null");
  }

  /**
   * A mask on one column.
   *
   * @param column the column
   * @param expression the SQL expression read instead of the column
   * @param exemptRole members of this role read the raw value
   */
  public record Mask(String column, String expression, Optional<String> exemptRole) {}

  /**
   * A row filter.
   *
   * @param granteeKind {@code principal} or {@code role}
   * @param grantee who it applies to
   * @param predicate the rows they see
   */
  public record RowFilter(String granteeKind, String grantee, String predicate) {}

  /**
   * What {@code who} sees of one table: the masks that apply to them (by column) and the row
   * predicates of their filters (a row is visible if any matches; empty = every row).
   */
  public record Applied(Map<String, String> masks, List<String> rowPredicates) {
    public boolean none() {
      return masks.isEmpty() && rowPredicates.isEmpty();
    }
  }

  /** Sets (or replaces) the mask of {@code table.column}; needs ADMIN. */
  public void mask(
      Principal by,
      TableName table,
      String column,
      String expression,
      Optional<String> exemptRole) {
    requireText("mask expression", expression);
    new AccessControl(db).require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "set the mask of " + table + "." + column,
        c -> {
          if (exemptRole.isPresent()) {
            AccessControl.requireRole(c, exemptRole.get());
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO column_masks (table_name, column_name, expression, exempt_role, created_by,"
                      + " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (table_name, column_name) DO"
                      + " UPDATE SET expression = excluded.expression, exempt_role = excluded.exempt_role,"
                      + " created_by = excluded.created_by, created_at = excluded.created_at")) {
            ps.setString(1, table.toString());
            ps.setString(2, column);
            ps.setString(3, expression);
            ps.setString(4, exemptRole.orElse(null));
            ps.setString(5, by.name());
            ps.setString(6, Instant.now().toString());
            ps.executeUpdate();
          }
          AuditLog.append(
              c,
              by,
              "catalog.mask",
              AccessControl.table(table),
              AuditLog.DONE,
              column
                  + " := "
                  + expression
                  + exemptRole.map(r -> " (exempt: role " + r + ")").orElse(""));
          return null;
        });
  }

  /** Sets (or replaces) the row filter of a principal or role on {@code table}; needs ADMIN. */
  public void rowFilter(
      Principal by, TableName table, String grantee, boolean role, String predicate) {
    requireText("row filter predicate", predicate);
    new AccessControl(db).require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "set a row filter on " + table,
        c -> {
          if (role) {
            AccessControl.requireRole(c, grantee);
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO row_filters (table_name, grantee_kind, grantee, predicate, created_by, created_at)"
                      + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (table_name, grantee_kind, grantee) DO UPDATE"
                      + " SET predicate = excluded.predicate, created_by = excluded.created_by,"
                      + " created_at = excluded.created_at")) {
            ps.setString(1, table.toString());
            ps.setString(2, role ? "role" : "principal");
            ps.setString(3, grantee);
            ps.setString(4, predicate);
            ps.setString(5, by.name());
            ps.setString(6, Instant.now().toString());
            ps.executeUpdate();
          }
          AuditLog.append(
              c,
              by,
              "catalog.row-filter",
              AccessControl.table(table),
              AuditLog.DONE,
              (role ? "role " : "principal ") + grantee + " sees rows where " + predicate);
          return null;
        });
  }

  /** Drops the mask of {@code table.column}; needs ADMIN; an error naming it if there is none. */
  public void dropMask(Principal by, TableName table, String column) {
    drop(
        by,
        table,
        "DELETE FROM column_masks WHERE table_name = ? AND column_name = ?",
        List.of(column),
        "catalog.mask.drop",
        "mask of column " + column);
  }

  /** Drops a row filter; needs ADMIN; an error naming it if there is none. */
  public void dropRowFilter(Principal by, TableName table, String grantee, boolean role) {
    drop(
        by,
        table,
        "DELETE FROM row_filters WHERE table_name = ? AND grantee_kind = ? AND grantee = ?",
        List.of(role ? "role" : "principal", grantee),
        "catalog.row-filter.drop",
        "row filter of " + (role ? "role " : "principal ") + grantee);
  }

  private void drop(
      Principal by, TableName table, String sql, List<String> args, String action, String what) {
    new AccessControl(db).require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "drop the " + what + " on " + table,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, table.toString());
            for (int i = 0; i < args.size(); i++) {
              ps.setString(i + 2, args.get(i));
            }
            if (ps.executeUpdate() == 0) {
              throw new SpecException(String.format("Table %s has no %s to drop.", table, what));
            }
          }
          AuditLog.append(c, by, action, AccessControl.table(table), AuditLog.DONE, what);
          return null;
        });
  }

  /** Every mask of {@code table}, by column. */
  public List<Mask> masks(TableName table) {
    return db.read("read the masks of " + table, c -> masks(c, table));
  }

  private static List<Mask> masks(Connection c, TableName table) throws SQLException {
    List<Mask> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT column_name, expression, exempt_role FROM column_masks WHERE table_name = ?"
                + " ORDER BY column_name")) {
      ps.setString(1, table.toString());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Mask(rs.getString(1), rs.getString(2), Optional.ofNullable(rs.getString(3))));
        }
      }
    }
    return out;
  }

  /** Every row filter of {@code table}. */
  public List<RowFilter> rowFilters(TableName table) {
    return db.read("read the row filters of " + table, c -> rowFilters(c, table));
  }

  private static List<RowFilter> rowFilters(Connection c, TableName table) throws SQLException {
    List<RowFilter> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT grantee_kind, grantee, predicate FROM row_filters WHERE table_name = ?"
                + " ORDER BY grantee_kind, grantee")) {
      ps.setString(1, table.toString());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new RowFilter(rs.getString(1), rs.getString(2), rs.getString(3)));
        }
      }
    }
    return out;
  }

  /**
   * The tables that have any mask or row filter (one query; the extension reads it per plan and
   * looks further only for those tables).
   */
  public Set<String> tablesWithPolicies() {
    return db.read(
        "read the tables with masks or row filters",
        c -> {
          Set<String> out = new HashSet<>();
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT table_name FROM column_masks UNION SELECT table_name FROM row_filters");
              ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.add(rs.getString(1));
            }
          }
          return out;
        });
  }

  /** What {@code who} sees of {@code table}: one plain read (no write lock), on one connection. */
  public Applied appliedTo(Principal who, TableName table) {
    return db.read("read the policies of " + table + " for " + who, c -> appliedTo(c, who, table));
  }

  private static Applied appliedTo(Connection c, Principal who, TableName table)
      throws SQLException {
    Set<String> roles = new HashSet<>();
    try (PreparedStatement ps =
        c.prepareStatement("SELECT role FROM role_members WHERE principal = ?")) {
      ps.setString(1, who.name());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          roles.add(rs.getString(1));
        }
      }
    }
    Map<String, String> masks = new TreeMap<>();
    for (Mask m : masks(c, table)) {
      if (m.exemptRole().isEmpty() || !roles.contains(m.exemptRole().get())) {
        masks.put(m.column(), m.expression());
      }
    }
    List<String> predicates = new ArrayList<>();
    for (RowFilter f : rowFilters(c, table)) {
      boolean applies =
          f.granteeKind().equals("principal")
              ? f.grantee().equals(who.name())
              : roles.contains(f.grantee());
      if (applies) {
        predicates.add(f.predicate());
      }
    }
    return new Applied(masks, predicates);
  }

  private static void requireText(String what, String text) {
    if (text == null || text.isBlank()) {
      throw new SpecException("The " + what + " is empty: give a Spark SQL expression.");
    }
  }
}
