package dev.lakeforge.catalog;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The append-only, hash-chained audit log: who did what to which object, when, and how it ended.
 * Entries are written in the same transaction as the change they describe, so a change without its
 * audit row (or the reverse) cannot happen; the decisions of access checks, which change nothing,
 * are appended in a short transaction of their own once the decision has been read. There is no API
 * to change or remove entries, and the database refuses it too (triggers on SQLite and PostgreSQL;
 * {@link CatalogDatabase} refuses to open a catalog whose triggers are missing).
 *
 * <p>Each row stores {@code prev_hash}, the {@code row_hash} of the row before it ({@link #GENESIS}
 * for the first), and its own {@code row_hash}, computed by {@link #rowHash}. Appends serialize
 * (SQLite's immediate transactions; a table lock on PostgreSQL), so the chain never forks. {@link
 * #verify()} walks the chain and names the first row that was edited, or that follows a deleted or
 * inserted row.
 *
 * <p>What the chain does not prove: someone with raw write access to the database who drops the
 * triggers, edits rows and recomputes every hash after them leaves a chain that verifies. That is
 * detected only if a head printed earlier ({@code audit log verified: N rows, head ID HASH}) was
 * recorded outside the database: {@link #verify(Head)} fails when the chain no longer holds that
 * head at that id. Appending well-formed rows at the end is not detected either: inserting audit
 * rows is what every command does.
 */
public final class AuditLog {
  /** A grant decision that let the action go ahead. */
  public static final String ALLOWED = "allowed";

  /** A grant decision that stopped the action. */
  public static final String DENIED = "denied";

  /** A mutation that was committed. */
  public static final String DONE = "done";

  /** The {@code prev_hash} of the first row: 64 zeros. */
  public static final String GENESIS = "0".repeat(64);

  private static final byte[] HASH_DOMAIN = "lakeforge-audit-v1".getBytes(StandardCharsets.UTF_8);

  private final CatalogDatabase db;

  public AuditLog(CatalogDatabase db) {
    this.db = db;
  }

  /**
   * One audit entry.
   *
   * @param id position in the log
   * @param at when
   * @param principal who (whose privileges were used)
   * @param actor the authenticated identity behind the principal; equal to it unless impersonating
   * @param action what, e.g. {@code model.register}
   * @param object on what, e.g. {@code model:churn/3}
   * @param outcome {@value #ALLOWED}, {@value #DENIED} or {@value #DONE}
   * @param detail more, e.g. the sha256 of a registered artifact
   * @param prevHash the row hash of the entry before it
   * @param rowHash this entry's hash over {@code prevHash} and its fields
   */
  public record Entry(
      long id,
      Instant at,
      String principal,
      String actor,
      String action,
      String object,
      String outcome,
      String detail,
      String prevHash,
      String rowHash) {}

  /**
   * The stored fields a row hash covers, as the database holds them (times as ISO-8601 text). Every
   * field but {@code detail} is non-null in rows Lakeforge writes; nulls are hashed distinctly from
   * empty text.
   */
  public record Content(
      String at,
      String principal,
      String actor,
      String action,
      String object,
      String outcome,
      String detail) {}

  /**
   * The sha256 (lower-case hex) of a row: over a domain tag, {@code prevHash} and the fields of
   * {@code row} in a fixed order, each written as its UTF-8 length (4 bytes, big-endian; -1 for
   * null) followed by its bytes, so no two different rows encode alike.
   */
  public static String rowHash(String prevHash, Content row) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
    md.update(HASH_DOMAIN);
    for (String field :
        new String[] {
          prevHash,
          row.at(),
          row.principal(),
          row.actor(),
          row.action(),
          row.object(),
          row.outcome(),
          row.detail()
        }) {
      if (field == null) {
        md.update(ByteBuffer.allocate(4).putInt(-1).array());
      } else {
        byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
        md.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        md.update(bytes);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

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

  /**
   * The last row of a chain: its id and row hash. {@link #toString()} is {@code ID:HASH}, which
   * {@link #parse} reads back.
   */
  public record Head(long id, String hash) {
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    public Head {
      Objects.requireNonNull(hash, "hash is null");
    }

    /** Reads {@code ID:HASH}, e.g. {@code 42:9f86d0...}. */
    public static Head parse(String text) {
      int colon = text.indexOf(':');
      String hash = colon < 0 ? "" : text.substring(colon + 1).toLowerCase(java.util.Locale.ROOT);
      long id;
      try {
        id = colon < 0 ? -1 : Long.parseLong(text.substring(0, colon));
      } catch (NumberFormatException e) {
        id = -1;
      }
      if (id < 1 || !HASH.matcher(hash).matches()) {
        throw new dev.lakeforge.core.SpecException(
            String.format(
                "Audit head '%s' is not ID:HASH: write the row id, a colon and the 64 hex digits"
                    + " printed by 'lakeforge catalog audit --verify', e.g. 42:%s.",
                text, "9f86d081884c7d65".repeat(4)));
      }
      return new Head(id, hash);
    }

    @Override
    public String toString() {
      return id + ":" + hash;
    }
  }

  /** Why a row breaks the chain. */
  public enum Reason {
    /** The row's contents no longer give its row hash: the row was edited. */
    HASH_MISMATCH,
    /**
     * The row's prev_hash is not the row hash of the row before it: a row before it was deleted or
     * inserted.
     */
    PREV_HASH_MISMATCH,
    /** The chain no longer holds the expected head at its id: the chain was rewritten. */
    HEAD_MISSING
  }

  /**
   * The first row that breaks the chain.
   *
   * @param id the row's id (for {@link Reason#HEAD_MISSING}, the expected head's id)
   * @param reason why
   * @param explanation one sentence saying what was found
   */
  public record Break(long id, Reason reason, String explanation) {
    public Break {
      Objects.requireNonNull(reason, "reason is null");
      Objects.requireNonNull(explanation, "explanation is null");
    }
  }

  /**
   * What {@link #verify()} found.
   *
   * @param rows how many rows were checked (all of them)
   * @param head the last row, empty for an empty log
   * @param firstBreak the first row that breaks the chain, empty when it is intact
   */
  public record Verification(long rows, Optional<Head> head, Optional<Break> firstBreak) {
    public Verification {
      Objects.requireNonNull(head, "head is null");
      Objects.requireNonNull(firstBreak, "firstBreak is null");
    }

    public boolean intact() {
      return firstBreak.isEmpty();
    }

    /**
     * This verification, if the chain is intact; else throws {@link AuditChainBrokenException}
     * naming the first broken row and the reason.
     */
    public Verification requireIntact(String catalogUrl) {
      firstBreak.ifPresent(
          b -> {
            throw new AuditChainBrokenException(catalogUrl, b, rows);
          });
      return this;
    }

    /** {@code audit log verified: N rows, head ID HASH} (or {@code head none}). */
    public String summary() {
      return String.format(
          "audit log verified: %d rows, head %s",
          rows, head.map(h -> h.id() + " " + h.hash()).orElse("none"));
    }
  }

  /**
   * Appends an entry on {@code c}, inside the caller's transaction ({@link
   * CatalogDatabase#inTransaction}), chained to the last row. On PostgreSQL it locks the audit log
   * until the transaction ends (SQLite's immediate transactions already hold the write lock), so no
   * two appends chain to the same row. Keep that transaction short: every other append waits for
   * it.
   *
   * @throws IllegalStateException when {@code c} is in auto-commit mode, where reading the last row
   *     and inserting the next would not be one step and two appends could fork the chain
   */
  static void append(
      Connection c, Principal who, String action, String object, String outcome, String detail)
      throws SQLException {
    if (c.getAutoCommit()) {
      throw new IllegalStateException(
          "AuditLog.append needs a transaction: call it inside CatalogDatabase.inTransaction, or"
              + " use the instance method append(...), which runs its own.");
    }
    if (c.getMetaData()
        .getDatabaseProductName()
        .toLowerCase(java.util.Locale.ROOT)
        .contains("postgres")) {
      try (Statement s = c.createStatement()) {
        s.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE");
      }
    }
    String prev = GENESIS;
    try (PreparedStatement ps =
            c.prepareStatement("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1");
        ResultSet rs = ps.executeQuery()) {
      if (rs.next() && rs.getString(1) != null) {
        prev = rs.getString(1);
      }
    }
    Content row =
        new Content(
            Instant.now().toString(), who.name(), who.actor(), action, object, outcome, detail);
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO audit_log (at, principal, actor, action, object, outcome, detail, prev_hash, row_hash)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, row.at());
      ps.setString(2, row.principal());
      ps.setString(3, row.actor());
      ps.setString(4, row.action());
      ps.setString(5, row.object());
      ps.setString(6, row.outcome());
      ps.setString(7, row.detail());
      ps.setString(8, prev);
      ps.setString(9, rowHash(prev, row));
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
            "SELECT id, at, principal, actor, action, object, outcome, detail, prev_hash, row_hash"
                + " FROM audit_log WHERE 1 = 1");
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
                        rs.getString(7),
                        rs.getString(8),
                        rs.getString(9),
                        rs.getString(10)));
              }
            }
            return out;
          }
        });
  }

  /**
   * Walks the whole log in id order, recomputing every row hash, and returns how many rows it
   * checked, the head, and the first row that breaks the chain: an edited row ({@link
   * Reason#HASH_MISMATCH}) or the row after a deleted or inserted one ({@link
   * Reason#PREV_HASH_MISMATCH}). One query, so it reads one consistent snapshot and blocks no
   * writer.
   */
  public Verification verify() {
    return walk(Optional.empty());
  }

  /**
   * {@link #verify()}, and also a {@link Reason#HEAD_MISSING} break when the chain no longer holds
   * {@code expected} (a head printed earlier and recorded elsewhere) at its id: the chain was
   * rewritten since.
   */
  public Verification verify(Head expected) {
    return walk(Optional.of(Objects.requireNonNull(expected, "expected is null")));
  }

  private Verification walk(Optional<Head> expected) {
    return db.read(
        "verify the audit log",
        c -> {
          long rows = 0;
          String prev = GENESIS;
          long prevId = 0;
          Optional<Break> broken = Optional.empty();
          Optional<String> atExpected = Optional.empty();
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT id, at, principal, actor, action, object, outcome, detail, prev_hash, row_hash"
                      + " FROM audit_log ORDER BY id")) {
            ps.setFetchSize(1000);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                rows++;
                long id = rs.getLong(1);
                Content row =
                    new Content(
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getString(5),
                        rs.getString(6),
                        rs.getString(7),
                        rs.getString(8));
                String storedPrev = rs.getString(9);
                String stored = rs.getString(10);
                if (broken.isEmpty()) {
                  if (!prev.equals(storedPrev)) {
                    broken =
                        Optional.of(
                            new Break(
                                id,
                                Reason.PREV_HASH_MISMATCH,
                                String.format(
                                    "its prev_hash %s is not the row hash of the row before it (%s)"
                                        + " (prev_hash mismatch): a row before it was deleted or"
                                        + " inserted",
                                    storedPrev,
                                    prevId == 0 ? "none: it is the first row" : "row " + prevId)));
                  } else if (!rowHash(storedPrev, row).equals(stored)) {
                    broken =
                        Optional.of(
                            new Break(
                                id,
                                Reason.HASH_MISMATCH,
                                String.format(
                                    "its row_hash %s does not match its contents (hash mismatch):"
                                        + " the row was edited",
                                    stored)));
                  }
                }
                if (expected.isPresent() && expected.get().id() == id) {
                  atExpected = Optional.ofNullable(stored);
                }
                prev = String.valueOf(stored);
                prevId = id;
              }
            }
          }
          Optional<Head> head = rows == 0 ? Optional.empty() : Optional.of(new Head(prevId, prev));
          if (broken.isEmpty() && expected.isPresent()) {
            Head want = expected.get();
            if (atExpected.isEmpty() || !atExpected.get().equals(want.hash())) {
              broken =
                  Optional.of(
                      new Break(
                          want.id(),
                          Reason.HEAD_MISSING,
                          String.format(
                              "the expected head %s is not in the chain (%s): the chain was"
                                  + " rewritten after that head was recorded",
                              want,
                              atExpected
                                  .map(h -> "row " + want.id() + " has hash " + h)
                                  .orElse("there is no row " + want.id()))));
            }
          }
          return new Verification(rows, head, broken);
        });
  }

  /**
   * The append-only triggers of the audit log, as Lakeforge creates them: name and the exact
   * statement.
   */
  private static List<String[]> triggers(CatalogDatabase.Vendor vendor) {
    return switch (vendor) {
      case SQLITE ->
          List.of(
              new String[] {
                "audit_log_no_update",
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT"
                    + " RAISE(ABORT, 'audit_log is append-only: rows cannot be updated'); END"
              },
              new String[] {
                "audit_log_no_delete",
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT"
                    + " RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted'); END"
              });
      case POSTGRESQL ->
          List.of(
              new String[] {
                "audit_log_no_change",
                "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH"
                    + " ROW EXECUTE FUNCTION lakeforge_audit_log_append_only()"
              },
              new String[] {
                "audit_log_no_truncate",
                "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH"
                    + " STATEMENT EXECUTE FUNCTION lakeforge_audit_log_append_only()"
              });
    };
  }

  private static final String PG_FUNCTION =
      "CREATE OR REPLACE FUNCTION lakeforge_audit_log_append_only() RETURNS trigger LANGUAGE"
          + " plpgsql AS $$\n"
          + "BEGIN\n"
          + "  RAISE EXCEPTION 'audit_log is append-only: rows cannot be %', lower(TG_OP) || 'd';\n"
          + "END;\n"
          + "$$";

  /**
   * The append-only triggers that are missing, disabled or not as Lakeforge created them (empty
   * when all are in place). One catalog query.
   */
  static List<String> missingTriggers(Connection c, CatalogDatabase.Vendor vendor)
      throws SQLException {
    java.util.Map<String, String> found = new java.util.HashMap<>();
    String sql =
        switch (vendor) {
          case SQLITE ->
              "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'";
          // A disabled trigger, or one whose function no longer raises, protects nothing.
          case POSTGRESQL ->
              "SELECT t.tgname, CASE WHEN t.tgenabled <> 'D' AND p.prosrc LIKE '%RAISE EXCEPTION%'"
                  + " THEN 'ok' END FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
                  + " WHERE t.tgrelid = 'audit_log'::regclass AND NOT t.tgisinternal";
        };
    try (PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        found.put(rs.getString(1), rs.getString(2));
      }
    }
    List<String> missing = new ArrayList<>();
    for (String[] t : triggers(vendor)) {
      String have = found.get(t[0]);
      boolean ok =
          vendor == CatalogDatabase.Vendor.SQLITE
              ? have != null && normalize(have).equals(normalize(t[1]))
              : "ok".equals(have);
      if (!ok) {
        missing.add(t[0]);
      }
    }
    return missing;
  }

  private static String normalize(String sql) {
    return sql.replaceAll("\\s+", " ").replaceAll(";\\s*END", " END").trim();
  }

  /**
   * (Re-)creates the append-only triggers named in {@code names}, inside the caller's transaction.
   */
  static void createTriggers(Connection c, CatalogDatabase.Vendor vendor, List<String> names)
      throws SQLException {
    try (Statement s = c.createStatement()) {
      if (vendor == CatalogDatabase.Vendor.POSTGRESQL) {
        s.execute(PG_FUNCTION);
      }
      for (String[] t : triggers(vendor)) {
        if (names.contains(t[0])) {
          s.execute(
              vendor == CatalogDatabase.Vendor.SQLITE
                  ? "DROP TRIGGER IF EXISTS " + t[0]
                  : "DROP TRIGGER IF EXISTS " + t[0] + " ON audit_log");
          s.execute(t[1]);
        }
      }
    }
  }

  /** The names of all append-only triggers on {@code vendor}. */
  static List<String> triggerNames(CatalogDatabase.Vendor vendor) {
    return triggers(vendor).stream().map(t -> t[0]).toList();
  }

  /**
   * What {@link #repairTriggers} did.
   *
   * @param recreated the triggers it re-created (empty when all were in place)
   * @param chain the verification of the chain, run after the repair
   */
  public record Repair(List<String> recreated, Verification chain) {
    public Repair {
      recreated = List.copyOf(recreated);
      Objects.requireNonNull(chain, "chain is null");
    }
  }

  /**
   * Re-creates the missing append-only triggers and appends an audit row recording it (action
   * {@code audit.repair-triggers}), in one transaction, then verifies the chain. Needs ADMIN. Meant
   * for a catalog opened with {@link CatalogDatabase#openForRepair}.
   */
  public Repair repairTriggers(Principal by) {
    new AccessControl(db).require(by, Privilege.ADMIN, "*");
    List<String> recreated =
        db.inTransaction(
            "re-create the audit log's triggers",
            c -> {
              List<String> missing = missingTriggers(c, db.vendor());
              if (!missing.isEmpty()) {
                createTriggers(c, db.vendor(), missing);
                append(
                    c,
                    by,
                    "audit.repair-triggers",
                    "catalog:audit_log",
                    DONE,
                    "re-created " + String.join(", ", missing));
              }
              return missing;
            });
    return new Repair(recreated, verify());
  }
}
