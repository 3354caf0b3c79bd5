package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A catalog made by an older release upgrades with every row kept: the schema is built with the
 * first migrations only (Flyway's {@code target}), filled through plain SQL as that release would
 * have, then opened with the current code, on SQLite and on PostgreSQL.
 */
class CatalogUpgradeTest {
  @TempDir Path dir;

  /** Rows written at schema 3 (registry, runs, audit log), by table: the columns and the values. */
  private static final Map<String, List<List<String>>> AT_3 = new LinkedHashMap<>();

  /** Rows written at schema 5 in addition (access control, Iceberg's catalog tables). */
  private static final Map<String, List<List<String>>> AT_5 = new LinkedHashMap<>();

  private static final String T = "2026-06-01T10:00:00Z";

  static {
    AT_3.put(
        "datasets",
        List.of(
            List.of(
                "name",
                "format",
                "location",
                "spec",
                "owner",
                "current_version",
                "created_at",
                "updated_at"),
            List.of(
                "shop.orders",
                "delta",
                "/w/delta/shop/orders",
                "{\"name\":\"shop.orders\"}",
                "ann",
                "4",
                T,
                T),
            List.of(
                "shop.events",
                "iceberg",
                "/w/iceberg/shop/events",
                "{}",
                "ann",
                "81726354",
                T,
                T)));
    AT_3.put(
        "models",
        List.of(
            List.of("name", "description", "owner", "created_at"),
            List.of("churn", "churn model, ünïcödé", "ann", T)));
    AT_3.put(
        "model_versions",
        List.of(
            List.of(
                "model",
                "version",
                "flavor",
                "artifact_uri",
                "sha256",
                "size_bytes",
                "signature",
                "description",
                "tags",
                "created_by",
                "created_at"),
            List.of(
                "churn",
                "1",
                "onnx",
                "file:/m/churn/1/model.onnx",
                "a".repeat(64),
                "1234",
                "{\"inputs\":[]}",
                "first",
                "{}",
                "ann",
                T),
            List.of(
                "churn",
                "2",
                "torchscript",
                "s3a://b/m/churn/2/model.pt",
                "b".repeat(64),
                "99",
                "{}",
                "second",
                "{\"team\":\"growth\"}",
                "bob",
                T)));
    AT_3.put(
        "model_aliases",
        List.of(
            List.of("model", "alias", "version", "updated_by", "updated_at"),
            List.of("churn", "champion", "1", "ann", T),
            List.of("churn", "challenger", "2", "bob", T)));
    AT_3.put(
        "runs",
        List.of(
            List.of(
                "id",
                "job",
                "principal",
                "started_at",
                "ended_at",
                "status",
                "parameters",
                "metrics",
                "error"),
            List.of(
                "11111111-1111-1111-1111-111111111111",
                "tables.ingest",
                "ann",
                T,
                T,
                "succeeded",
                "{\"table\":\"shop.orders\"}",
                "{\"rows\":3}",
                ""),
            List.of(
                "22222222-2222-2222-2222-222222222222",
                "tables.ingest",
                "bob",
                T,
                T,
                "failed",
                "{}",
                "{}",
                "boom")));
    AT_3.put(
        "run_io",
        List.of(
            List.of("run_id", "direction", "kind", "name", "version"),
            List.of("11111111-1111-1111-1111-111111111111", "input", "path", "/raw/o.csv", ""),
            List.of(
                "11111111-1111-1111-1111-111111111111", "output", "table", "shop.orders", "4")));
    AT_3.put(
        "audit_log",
        List.of(
            List.of("at", "principal", "action", "object", "outcome", "detail"),
            List.of(T, "ann", "table.apply", "table:shop.orders", "done", "created"),
            List.of(T, "bob", "model.alias", "model:churn/2", "denied", "no PROMOTE"),
            List.of(T, "ann", "model.register", "model:churn/1", "done", "")));
    AT_5.put(
        "principals",
        List.of(
            List.of("name", "created_by", "created_at"),
            List.of("ann", "ann", T),
            List.of("bob", "ann", T)));
    AT_5.put(
        "roles",
        List.of(List.of("name", "created_by", "created_at"), List.of("analysts", "ann", T)));
    AT_5.put("role_members", List.of(List.of("role", "principal"), List.of("analysts", "bob")));
    AT_5.put(
        "grants",
        List.of(
            List.of("privilege", "object", "grantee_kind", "grantee", "granted_by", "granted_at"),
            List.of("ADMIN", "*", "principal", "ann", "ann", T),
            List.of("SELECT", "namespace:shop", "role", "analysts", "ann", T)));
    AT_5.put(
        "catalog_settings", List.of(List.of("name", "value"), List.of("bootstrap-admin", "ann")));
    AT_5.put(
        "iceberg_tables",
        List.of(
            List.of(
                "catalog_name",
                "table_namespace",
                "table_name",
                "metadata_location",
                "previous_metadata_location",
                "iceberg_type"),
            List.of(
                "iceberg",
                "shop",
                "events",
                "/w/iceberg/shop/events/metadata/2.json",
                "/w/iceberg/shop/events/metadata/1.json",
                "TABLE")));
  }

  @ParameterizedTest(name = "{0} from schema {1}")
  @CsvSource({"SQLITE, 3", "SQLITE, 5", "POSTGRESQL, 3", "POSTGRESQL, 5"})
  void anOlderCatalogUpgradesWithEveryRowKept(CatalogBackend backend, String target)
      throws SQLException {
    String url = freshDatabase(backend);
    Flyway.configure(CatalogDatabase.class.getClassLoader())
        .dataSource(url, null, null)
        // The configuration of CatalogDatabase#migrate, stopped at `target`.
        .locations(
            "classpath:lakeforge/catalog/migration/" + backend.name().toLowerCase(Locale.ROOT),
            "classpath:lakeforge/catalog/migration/common")
        .javaMigrations(new V6__Audit_log_hash_chain())
        .table(CatalogDatabase.HISTORY_TABLE)
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .target(target)
        .load()
        .migrate();
    Map<String, List<List<String>>> written = new LinkedHashMap<>(AT_3);
    if (target.equals("5")) {
      written.putAll(AT_5);
    }
    try (Connection c = DriverManager.getConnection(url)) {
      assertThat(schemaVersion(c)).isEqualTo(target);
      for (Map.Entry<String, List<List<String>>> e : written.entrySet()) {
        insert(c, e.getKey(), e.getValue());
      }
    }

    CatalogDatabase db = CatalogDatabase.open(url, Optional.empty(), Optional.empty());

    assertThat(db.atCurrentSchema()).isTrue();
    try (Connection c = db.connect()) {
      assertThat(schemaVersion(c)).isEqualTo(CatalogDatabase.SCHEMA_VERSION);
      for (Map.Entry<String, List<List<String>>> e : written.entrySet()) {
        List<String> columns = e.getValue().get(0);
        assertThat(select(c, e.getKey(), columns))
            .as("%s after the upgrade from schema %s", e.getKey(), target)
            .containsExactlyInAnyOrderElementsOf(e.getValue().subList(1, e.getValue().size()));
      }
      assertThat(select(c, "audit_log", List.of("principal", "actor")))
          .as("V6 sets the actor of older rows to their principal")
          .allSatisfy(r -> assertThat(r.get(1)).isEqualTo(r.get(0)));
      assertThat(select(c, "runs", List.of("owner_host", "owner_pid")))
          .as("runs from before V6.1 have no owner")
          .allSatisfy(r -> assertThat(r).containsOnlyNulls());
    }
    AuditLog audit = new AuditLog(db);
    int oldRows = AT_3.get("audit_log").size() - 1;
    assertThat(audit.verify().rows()).isEqualTo(oldRows);
    assertThat(audit.verify().intact()).as(audit.verify().toString()).isTrue();
    audit.append(new Principal("carol"), "table.apply", "table:shop.x", AuditLog.DONE, "after");
    AuditLog.Verification after = audit.verify();
    assertThat(after.rows()).isEqualTo(oldRows + 1);
    assertThat(after.intact())
        .as("a row appended after the upgrade chains to the old ones")
        .isTrue();
    if (target.equals("5")) {
      assertThat(
              new AccessControl(db)
                  .holds(new Principal("bob"), Privilege.SELECT, "table:shop.orders"))
          .as("a role grant made before the upgrade still applies")
          .isTrue();
    }
  }

  /** A new, empty database: a SQLite file, or a schema of the test PostgreSQL server. */
  private String freshDatabase(CatalogBackend backend) throws SQLException {
    if (backend == CatalogBackend.SQLITE) {
      return "jdbc:sqlite:" + dir.resolve("catalog-" + UUID.randomUUID() + ".db");
    }
    String server = CatalogBackend.postgresUrl();
    String schema = "lf_upgrade_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection c = DriverManager.getConnection(server);
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    }
    return server + (server.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  private static String schemaVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT version FROM "
                    + CatalogDatabase.HISTORY_TABLE
                    + " WHERE success = "
                    + (c.getMetaData().getDatabaseProductName().contains("SQLite") ? "1" : "true")
                    + " ORDER BY installed_rank DESC")) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1);
    }
  }

  /** Inserts {@code rows} (a header of columns, then values; '' is kept, never NULL). */
  private static void insert(Connection c, String table, List<List<String>> rows)
      throws SQLException {
    List<String> columns = rows.get(0);
    String sql =
        "INSERT INTO "
            + table
            + " ("
            + String.join(", ", columns)
            + ") VALUES ("
            + String.join(", ", java.util.Collections.nCopies(columns.size(), "?"))
            + ")";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (List<String> row : rows.subList(1, rows.size())) {
        for (int i = 0; i < row.size(); i++) {
          ps.setObject(i + 1, row.get(i), typeOf(c, table, columns.get(i)));
        }
        ps.executeUpdate();
      }
    }
  }

  /** The JDBC type of a column, so PostgreSQL gets numbers for its INTEGER and BIGINT columns. */
  private static int typeOf(Connection c, String table, String column) throws SQLException {
    try (ResultSet rs = c.getMetaData().getColumns(null, null, table, column)) {
      while (rs.next()) {
        if (rs.getString("TABLE_NAME").equalsIgnoreCase(table)
            && rs.getString("COLUMN_NAME").equalsIgnoreCase(column)) {
          return rs.getInt("DATA_TYPE");
        }
      }
    }
    return java.sql.Types.VARCHAR;
  }

  /** Every row of {@code table}, the {@code columns} read as text. */
  private static List<List<String>> select(Connection c, String table, List<String> columns)
      throws SQLException {
    List<List<String>> out = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT " + String.join(", ", columns) + " FROM " + table)) {
      while (rs.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= columns.size(); i++) {
          row.add(rs.getString(i));
        }
        out.add(row);
      }
    }
    return out;
  }
}
