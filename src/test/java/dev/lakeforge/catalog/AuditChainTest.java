package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The audit log's hash chain and append-only triggers, on SQLite and PostgreSQL: tampering through
 * a raw connection (after dropping the triggers) is found and named, a catalog without its triggers
 * is refused until an admin repairs it, and concurrent appends never fork the chain.
 */
class AuditChainTest {
  private static final Principal ADMIN = new Principal("admin");
  @TempDir Path dir;

  private static List<AuditLog.Entry> entries(CatalogDatabase db) {
    return new AuditLog(db).read(AuditLog.Filter.all());
  }

  /** Five entries after the admin's bootstrap; returns the database. */
  private static CatalogDatabase withEntries(CatalogBackend backend, Path dir) {
    CatalogDatabase db = backend.open(dir);
    new AccessControl(db).require(ADMIN, Privilege.ADMIN, "*");
    AuditLog log = new AuditLog(db);
    for (int i = 1; i <= 5; i++) {
      log.append(ADMIN, "test.step", "model:m" + i, AuditLog.DONE, "step " + i);
    }
    return db;
  }

  private static void sql(CatalogDatabase db, String... statements) throws SQLException {
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  private static void dropTriggers(CatalogDatabase db) throws SQLException {
    if (db.vendor() == CatalogDatabase.Vendor.SQLITE) {
      sql(db, "DROP TRIGGER audit_log_no_delete", "DROP TRIGGER audit_log_no_update");
    } else {
      sql(
          db,
          "DROP TRIGGER audit_log_no_change ON audit_log",
          "DROP TRIGGER audit_log_no_truncate ON audit_log");
    }
  }

  private static AuditLog.Break firstBreak(AuditLog.Verification v) {
    assertThat(v.intact()).as("verification %s", v).isFalse();
    return v.firstBreak().orElseThrow();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void anUntouchedLogVerifiesAndRecordsTheActor(CatalogBackend backend) {
    CatalogDatabase db = withEntries(backend, dir);
    new AuditLog(db)
        .append(new Principal("svc-scoring", "ann"), "test.as", "model:m1", AuditLog.DONE, null);
    List<AuditLog.Entry> all = entries(db);
    AuditLog.Entry last = all.get(all.size() - 1);

    AuditLog.Verification v = new AuditLog(db).verify();

    assertThat(v.intact()).isTrue();
    assertThat(v.rows()).isEqualTo(all.size()).isEqualTo(8); // bootstrap, its check, 5 steps, 1
    assertThat(v.head()).contains(new AuditLog.Head(last.id(), last.rowHash()));
    assertThat(v.summary())
        .isEqualTo("audit log verified: 8 rows, head " + last.id() + " " + last.rowHash());
    assertThat(all.get(0).prevHash()).isEqualTo(AuditLog.GENESIS);
    for (int i = 1; i < all.size(); i++) {
      assertThat(all.get(i).prevHash()).isEqualTo(all.get(i - 1).rowHash());
    }
    assertThat(last)
        .extracting(AuditLog.Entry::principal, AuditLog.Entry::actor)
        .containsExactly("svc-scoring", "ann");
    assertThat(all.get(0).actor()).isEqualTo("admin");
    assertThat(new AuditLog(db).verify(v.head().orElseThrow()).intact()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aDeletedRowIsNamedByTheRowAfterIt(CatalogBackend backend) throws Exception {
    CatalogDatabase db = withEntries(backend, dir);
    List<AuditLog.Entry> before = entries(db);
    dropTriggers(db);
    sql(db, "DELETE FROM audit_log WHERE id = " + before.get(3).id());

    AuditLog.Break b = firstBreak(new AuditLog(db).verify());

    assertThat(b.id()).isEqualTo(before.get(4).id());
    assertThat(b.reason()).isEqualTo(AuditLog.Reason.PREV_HASH_MISMATCH);
    assertThatThrownBy(() -> new AuditLog(db).verify().requireIntact(db.url()))
        .isInstanceOf(AuditChainBrokenException.class)
        .hasMessageContainingAll(
            "failed verification at row " + before.get(4).id(),
            "prev_hash mismatch",
            "a row before it was deleted or inserted",
            "row " + before.get(2).id());
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void anEditedRowIsNamed(CatalogBackend backend) throws Exception {
    CatalogDatabase db = withEntries(backend, dir);
    long edited = entries(db).get(2).id();
    dropTriggers(db);
    sql(db, "UPDATE audit_log SET detail = 'nothing to see' WHERE id = " + edited);

    AuditLog.Break b = firstBreak(new AuditLog(db).verify());

    assertThat(b)
        .extracting(AuditLog.Break::id, AuditLog.Break::reason)
        .containsExactly(edited, AuditLog.Reason.HASH_MISMATCH);
    assertThat(b.explanation()).contains("hash mismatch", "the row was edited");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aForgedRowIsNamed(CatalogBackend backend) throws Exception {
    CatalogDatabase db = withEntries(backend, dir);
    AuditLog.Head head = new AuditLog(db).verify().head().orElseThrow();
    // Chained to the head, but hashed over other contents than it stores.
    String wrong =
        AuditLog.rowHash(
            head.hash(),
            new AuditLog.Content(
                "2026-01-01T00:00:00Z", "admin", "admin", "x", "model:x", "done", "real"));
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO audit_log (at, principal, actor, action, object, outcome, detail,"
                    + " prev_hash, row_hash) VALUES ('2026-01-01T00:00:00Z', 'admin', 'admin', 'x',"
                    + " 'model:x', 'done', 'forged', ?, ?)")) {
      ps.setString(1, head.hash());
      ps.setString(2, wrong);
      ps.executeUpdate();
    }
    long forged = entries(db).get(entries(db).size() - 1).id();

    AuditLog.Break b = firstBreak(new AuditLog(db).verify());

    assertThat(b)
        .extracting(AuditLog.Break::id, AuditLog.Break::reason)
        .containsExactly(forged, AuditLog.Reason.HASH_MISMATCH);
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aCatalogWithoutItsTriggersIsRefusedUntilAnAdminRepairsIt(CatalogBackend backend)
      throws Exception {
    CatalogDatabase db = withEntries(backend, dir);
    dropTriggers(db);
    List<String> names = AuditLog.triggerNames(db.vendor());

    assertThatThrownBy(() -> CatalogDatabase.open(db.url(), Optional.empty(), Optional.empty()))
        .isInstanceOf(AuditTriggersMissingException.class)
        .hasMessageContainingAll(
            db.url(),
            "missing its append-only triggers " + names,
            "tampering or a manual change",
            "lakeforge catalog audit --verify",
            "lakeforge catalog audit --repair-triggers");

    CatalogDatabase repairing =
        CatalogDatabase.openForRepair(db.url(), Optional.empty(), Optional.empty());
    assertThatThrownBy(() -> new AuditLog(repairing).repairTriggers(new Principal("mallory")))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("mallory", "ADMIN");
    AuditLog.Repair repair = new AuditLog(repairing).repairTriggers(ADMIN);

    assertThat(repair.recreated()).containsExactlyElementsOf(names);
    assertThat(repair.chain().intact()).isTrue();
    CatalogDatabase reopened = CatalogDatabase.open(db.url(), Optional.empty(), Optional.empty());
    assertThat(entries(reopened))
        .filteredOn(e -> e.action().equals("audit.repair-triggers"))
        .singleElement()
        .extracting(AuditLog.Entry::principal, AuditLog.Entry::object, AuditLog.Entry::detail)
        .containsExactly("admin", "catalog:audit_log", "re-created " + String.join(", ", names));
    assertThatThrownBy(() -> sql(reopened, "DELETE FROM audit_log"))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("audit_log is append-only");
    assertThat(new AuditLog(reopened).repairTriggers(ADMIN).recreated()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aNeuteredTriggerCountsAsMissing(CatalogBackend backend) throws Exception {
    CatalogDatabase db = withEntries(backend, dir);
    if (db.vendor() == CatalogDatabase.Vendor.SQLITE) {
      sql(
          db,
          "DROP TRIGGER audit_log_no_update",
          "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END");
    } else {
      sql(db, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change");
    }
    String neutered =
        db.vendor() == CatalogDatabase.Vendor.SQLITE
            ? "audit_log_no_update"
            : "audit_log_no_change";

    assertThatThrownBy(() -> CatalogDatabase.open(db.url(), Optional.empty(), Optional.empty()))
        .isInstanceOf(AuditTriggersMissingException.class)
        .hasMessageContaining("[" + neutered + "]");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void anExpectedHeadDetectsARecomputedChain(CatalogBackend backend) throws Exception {
    CatalogDatabase db = withEntries(backend, dir);
    AuditLog.Head recorded = new AuditLog(db).verify().head().orElseThrow();
    dropTriggers(db);
    // A forger with write access edits row 2 and re-chains every row from there on.
    try (Connection c = db.connect()) {
      List<long[]> ids = new ArrayList<>();
      List<AuditLog.Content> rows = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT id, at, principal, actor, action, object, outcome, detail FROM audit_log"
                      + " ORDER BY id")) {
        while (rs.next()) {
          ids.add(new long[] {rs.getLong(1)});
          rows.add(
              new AuditLog.Content(
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getString(5),
                  rs.getString(6),
                  rs.getString(7),
                  rows.size() == 1 ? "rewritten" : rs.getString(8)));
        }
      }
      String prev = AuditLog.GENESIS;
      for (int i = 0; i < rows.size(); i++) {
        String hash = AuditLog.rowHash(prev, rows.get(i));
        try (PreparedStatement ps =
            c.prepareStatement(
                "UPDATE audit_log SET detail = ?, prev_hash = ?, row_hash = ? WHERE id = ?")) {
          ps.setString(1, rows.get(i).detail());
          ps.setString(2, prev);
          ps.setString(3, hash);
          ps.setLong(4, ids.get(i)[0]);
          ps.executeUpdate();
        }
        prev = hash;
      }
    }

    assertThat(new AuditLog(db).verify().intact()).isTrue();
    AuditLog.Break b = firstBreak(new AuditLog(db).verify(recorded));
    assertThat(b)
        .extracting(AuditLog.Break::id, AuditLog.Break::reason)
        .containsExactly(recorded.id(), AuditLog.Reason.HEAD_MISSING);
    assertThat(b.explanation()).contains("expected head " + recorded, "the chain was rewritten");
    assertThat(AuditLog.Head.parse(recorded.toString())).isEqualTo(recorded);
    assertThatThrownBy(() -> AuditLog.Head.parse("7-abc"))
        .hasMessageContainingAll("'7-abc'", "ID:HASH");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void concurrentAppendsNeverForkTheChain(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        Principal who = new Principal("writer-" + t);
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 25; i++) {
                    new AuditLog(db)
                        .append(who, "test.concurrent", "model:m", AuditLog.DONE, "" + i);
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }

    AuditLog.Verification v = new AuditLog(db).verify();

    assertThat(v.intact()).as("verification %s", v).isTrue();
    assertThat(v.rows()).isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void concurrentAccessChecksChainTheirRowsWithoutAFork(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    AccessControl access = new AccessControl(db);
    Principal ann = new Principal("ann");
    Principal bobByAnn = new Principal("bob", "ann");
    access.require(ann, Privilege.ADMIN, "*"); // ann bootstraps the catalog as its admin
    access.grant(ann, Privilege.SELECT, "namespace:shop", "bob", false);
    int n = 100;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Principal who = i % 2 == 0 ? ann : bobByAnn;
        done.add(pool.submit(() -> access.require(who, Privilege.SELECT, "table:shop.orders")));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }

    AuditLog.Verification v = new AuditLog(db).verify();
    assertThat(v.intact()).as("verification %s", v).isTrue();
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .filteredOn(e -> e.action().equals("access.select"))
        .hasSize(n);
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void anAppendOutsideATransactionIsRefused(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    try (Connection c = db.connect()) {
      assertThatThrownBy(
              () ->
                  AuditLog.append(
                      c, new Principal("ann"), "test.append", "model:m", AuditLog.DONE, null))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage(
              "AuditLog.append needs a transaction: call it inside CatalogDatabase.inTransaction, or"
                  + " use the instance method append(...), which runs its own.");
    }
    assertThat(new AuditLog(db).verify().rows()).isZero();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void rowsWrittenBeforeTheChainJoinIt(CatalogBackend backend) throws Exception {
    CatalogDatabase fresh = backend.open(dir);
    String url = fresh.url().replace("catalog-", "old-catalog-");
    if (fresh.vendor() == CatalogDatabase.Vendor.POSTGRESQL) {
      String schema = url.replaceFirst(".*currentSchema=", "");
      url = url.replace(schema, schema + "_old");
      sql(fresh, "CREATE SCHEMA " + schema + "_old");
    }
    String vendor = fresh.vendor().name().toLowerCase(java.util.Locale.ROOT);
    Flyway.configure()
        .dataSource(url, null, null)
        .locations(
            "classpath:lakeforge/catalog/migration/" + vendor,
            "classpath:lakeforge/catalog/migration/common")
        .table(CatalogDatabase.HISTORY_TABLE)
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .target("5")
        .load()
        .migrate();
    try (Connection c = java.sql.DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      for (int i = 1; i <= 3; i++) {
        s.execute(
            "INSERT INTO audit_log (at, principal, action, object, outcome, detail) VALUES"
                + " ('2025-06-0"
                + i
                + "T10:00:00Z', 'ann', 'model.register', 'model:churn/"
                + i
                + "', 'done', NULL)");
      }
    }

    CatalogDatabase old = CatalogDatabase.open(url, Optional.empty(), Optional.empty());

    AuditLog.Verification v = new AuditLog(old).verify();
    assertThat(v.intact()).as("verification %s", v).isTrue();
    assertThat(v.rows()).isEqualTo(3);
    assertThat(entries(old)).extracting(AuditLog.Entry::actor).containsExactly("ann", "ann", "ann");
    new AuditLog(old).append(ADMIN, "test.after", "model:churn", AuditLog.DONE, null);
    assertThat(new AuditLog(old).verify().rows()).isEqualTo(4);
    assertThat(new AuditLog(old).verify().intact()).isTrue();
    try (Connection c = old.connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT actor, row_hash FROM audit ORDER BY id")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("ann");
    }
  }
}
