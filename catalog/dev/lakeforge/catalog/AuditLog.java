package dev.lakeforge.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The append-only audit log: who did what to which object, when, and how it ended. Entries are
 * written in the same transaction as the change they describe, so a change without its audit row
 * (or the reverse) cannot happen. There is no API to change or remove entries, and the database
 * refuses it too (triggers on SQLite and PostgreSQL).
 */
public final class AuditLog {
  /** A grant decision that let the action go ahead. */
  public static final String ALLOWED = "allowed";

  /** A grant decision that stopped the action. */
  public static final String DENIED = "denied";

  /** A mutation that was committed. */
  public static final String DONE = "done";

  private final CatalogDatabase db;

  public AuditLog(CatalogDatabase db) {
    this.db = db;
  }

  /**
   * One audit entry.
   *
   * @param id position in the log
   * @param at when
   * @param principal who
   * @param action what, e.g. {@code model.register}
   * @param object on what, e.g. {@code model:churn/3}
   * @param outcome {@value #ALLOWED}, {@value #DENIED} or {@value #DONE}
   * @param detail more, e.g. the sha256 of a registered artifact
   */
  public record Entry(
      long id,
      Instant at,
      String principal,
      String action,
      String object,
      String outcome,
      String detail) {}

  /**
   * Which entries to read; empty fields match everything.
   *
   * @param principal only this principal's entries
   * @param object only entries whose object starts with this (e.g. {@code model:churn})
   * @param since only entries at or after this time
   */
  public record Filter(
      Optional<String> principal, Optional<String> object, Optional<Instant> since) {
    public Filter {
      Objects.requireNonNull(principal, "principal is null");
      Objects.requireNonNull(object, "object is null");
      Objects.requireNonNull(since, "since is null");
    }

    public static Filter all() {
      return new Filter(Optional.empty(), Optional.empty(), Optional.empty());
    }
  }

  /** Appends an entry on {@code c}, inside the caller's transaction. */
  static void append(
      Connection c, Principal who, String action, String object, String outcome, String detail)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO audit_log (at, principal, action, object, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, Instant.now().toString());
      ps.setString(2, who.name());
      ps.setString(3, action);
      ps.setString(4, object);
      ps.setString(5, outcome);
      ps.setString(6, detail);
      ps.executeUpdate();
    }
  }

  /** Appends an entry in its own transaction (e.g. a denied action, which changes nothing else). */
  public void append(Principal who, String action, String object, String outcome, String detail) {
    db.inTransaction(
        "write the audit log",
        c -> {
          append(c, who, action, object, outcome, detail);
          return null;
        });
  }

  /** The entries matching {@code filter}, oldest first. */
  public List<Entry> read(Filter filter) {
    StringBuilder sql =
        new StringBuilder(
            "SELECT id, at, principal, action, object, outcome, detail FROM audit_log WHERE 1 = 1");
    List<String> args = new ArrayList<>();
    filter
        .principal()
        .ifPresent(
            p -> {
              sql.append(" AND principal = ?");
              args.add(p);
            });
    filter
        .object()
        .ifPresent(
            o -> {
              sql.append(" AND object LIKE ? ESCAPE '!'");
              args.add(o.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%");
            });
    filter
        .since()
        .ifPresent(
            t -> {
              sql.append(" AND at >= ?");
              args.add(t.toString());
            });
    sql.append(" ORDER BY id");
    return db.read(
        "read the audit log",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
              ps.setString(i + 1, args.get(i));
            }
            List<Entry> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(
                    new Entry(
                        rs.getLong(1),
                        Instant.parse(rs.getString(2)),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getString(5),
                        rs.getString(6),
                        rs.getString(7)));
              }
            }
            return out;
          }
        });
  }
}
