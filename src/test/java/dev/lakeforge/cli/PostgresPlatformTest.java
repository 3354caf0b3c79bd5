package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.testing.CatalogBackend;
import dev.lakeforge.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shared deployment's setup end to end: the platform config points the catalog (and with it the
 * Iceberg JDBC catalog) at PostgreSQL; tables, ingest, SQL, models, lineage and the audit all go
 * through it.
 */
class PostgresPlatformTest {
  @TempDir Path home;

  @org.junit.jupiter.api.BeforeEach
  @AfterEach
  void stop() { // this test needs its own session: one left by another test would point at another
    // catalog
    dev.lakeforge.testing.SparkTestBase.stop();
  }

  private CliRun ok(Path conf, String... args) {
    List<String> all = new ArrayList<>(List.of("--conf", conf.toString(), "--as", "ops"));
    all.addAll(List.of(args));
    CliRun r = CliRun.run(home, all.toArray(String[]::new));
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  /** A fresh PostgreSQL schema for the catalog: its JDBC URL. */
  private static String freshCatalog() throws Exception {
    String url = CatalogBackend.postgresUrl();
    String schema = "lf_platform_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    }
    return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  /** The platform config of a deployment whose catalog is at {@code catalogUrl}. */
  private Path conf(String catalogUrl) throws Exception {
    return Files.writeString(
        home.resolve("lakeforge.yaml"),
        """
        spark:
          master: local[2]
          conf: {spark.sql.shuffle.partitions: "2", spark.databricks.delta.snapshotPartitions: "2"}
        warehouse: %s
        catalog: {url: "%s"}
        table-specs: specs
        """
            .formatted(home.resolve("warehouse"), catalogUrl));
  }

  @Test
  void theCatalogAndIcebergLiveInPostgres() throws Exception {
    String catalogUrl = freshCatalog();
    Path conf = conf(catalogUrl);
    Path specs = Files.createDirectories(home.resolve("specs"));
    Files.writeString(
        specs.resolve("d.yaml"),
        """
        name: pg.events
        format: delta
        columns: [{name: id, type: bigint, nullable: false}, {name: kind, type: string}]
        primary-key: [id]
        """);
    Files.writeString(
        specs.resolve("i.yaml"),
        """
        name: pg.users
        format: iceberg
        columns: [{name: id, type: bigint, nullable: false}, {name: name, type: string}]
        primary-key: [id]
        """);
    Path events = Files.writeString(home.resolve("events.csv"), "id,kind\n1,view\n2,click\n");
    Path users = Files.writeString(home.resolve("users.csv"), "id,name\n1,ann\n");

    CliRun admin =
        CliRun.run(home, "--conf", conf.toString(), "catalog", "grant", "ADMIN", "*", "ops");
    assertThat(admin.code())
        .as("the OS user bootstraps the catalog and makes ops an admin: " + admin)
        .isZero();
    ok(conf, "tables", "apply");
    ok(conf, "tables", "ingest", "pg.events", "--from", events.toString(), "--format", "csv");
    ok(conf, "tables", "ingest", "pg.users", "--from", users.toString(), "--format", "csv");
    stop(); // a new session, as a new process would start
    assertThat(
            ok(
                    conf,
                    "sql",
                    "--format",
                    "csv",
                    "select (select count(*) from pg.events) as events, (select count(*) from iceberg.pg.users) as users")
                .out())
        .isEqualTo("events,users\n2,1\n");
    assertThat(ok(conf, "catalog", "lineage", "pg.users").out())
        .contains("users.csv", "tables.ingest");

    try (Connection c = DriverManager.getConnection(catalogUrl);
        Statement s = c.createStatement();
        var rs =
            s.executeQuery(
                "select (select count(*) from datasets), (select count(*) from iceberg_tables),"
                    + " (select count(*) from runs where status = 'succeeded' and principal = 'ops'),"
                    + " (select principal from audit_log order by id limit 1)")) {
      rs.next();
      assertThat(rs.getInt(1)).as("datasets").isEqualTo(2);
      assertThat(rs.getInt(2)).as("Iceberg's JDBC catalog tables in the same schema").isEqualTo(1);
      assertThat(rs.getInt(3)).as("runs as ops (--as): apply + 2 ingests").isEqualTo(3);
      assertThat(rs.getString(4))
          .as("the authenticated identity bootstrapped the catalog, not the name it acts as")
          .isEqualTo(dev.lakeforge.catalog.Identity.current().name());
    }
    // The SQL catalog over PostgreSQL is read-only at the connection: past every check (the
    // internal scope skips them), a write still fails in the database.
    var spark = org.apache.spark.sql.SparkSession.active();
    assertThatThrownBy(
            () ->
                dev.lakeforge.lakehouse.access.AccessScope.internal(
                    () ->
                        spark
                            .sql(
                                "insert into lakeforge.grants values ('ADMIN', '*', 'principal', 'x', 'x', 'x')")
                            .collect()))
        .satisfies(
            e ->
                assertThat(org.assertj.core.util.Throwables.getStackTrace(e))
                    .contains("read-only transaction"));
  }

  /**
   * Feature sets on a PostgreSQL catalog, with Iceberg feature and training tables (whose catalog
   * is in PostgreSQL too): apply, materialize (and its idempotent re-run), stats, list, show, a
   * training set and its idempotent rebuild, all recorded in PostgreSQL.
   */
  @Test
  void featureSetsAndTrainingSetsRunOnAPostgresCatalog() throws Exception {
    String catalogUrl = freshCatalog();
    Path conf = conf(catalogUrl);
    assertThat(
            CliRun.run(home, "--conf", conf.toString(), "catalog", "grant", "ADMIN", "*", "ops")
                .code())
        .isZero();
    Path specs = Files.createDirectories(home.resolve("specs"));
    Files.copy(Path.of("conf/tables/shop_orders.yaml"), specs.resolve("orders.yaml"));
    Files.writeString(
        specs.resolve("spine.yaml"),
        """
        name: shop.churn_spine
        format: delta
        columns:
          - {name: customer_id, type: bigint}
          - {name: as_of, type: timestamp}
          - {name: label, type: int}
        """);
    Path activity =
        Files.writeString(
            home.resolve("activity.yaml"),
            Files.readString(Path.of("conf/features/customer_activity.yaml"))
                .replace("format: delta", "format: iceberg"));
    Path churn =
        Files.writeString(
            home.resolve("churn.yaml"),
            Files.readString(Path.of("conf/training/churn.yaml"))
                .replace("format: delta", "format: iceberg"));
    ok(conf, "tables", "apply");
    ok(
        conf,
        "sql",
        "INSERT INTO shop.orders VALUES"
            + " (1, 1, 10, 2, 20.00, TIMESTAMP '2026-01-03 10:00:00', DATE '2026-01-03'),"
            + " (2, 1, 11, 1, 5.50, TIMESTAMP '2026-01-06 09:00:00', DATE '2026-01-06'),"
            + " (3, 2, 10, 5, 100.00, TIMESTAMP '2026-01-01 00:00:00', DATE '2026-01-01')");
    ok(
        conf,
        "sql",
        "INSERT INTO shop.churn_spine VALUES (1, TIMESTAMP '2026-01-07 12:00:00', 1),"
            + " (2, TIMESTAMP '2026-01-10 00:00:00', 0), (3, TIMESTAMP '2026-01-07 00:00:00', 0)");

    assertThat(ok(conf, "features", "apply", activity.toString()).out())
        .containsPattern(
            "customer_activity \\| features.customer_activity \\| created +\\| registered");
    assertThat(ok(conf, "features", "apply", activity.toString()).out())
        .containsPattern(
            "customer_activity \\| features.customer_activity \\| unchanged +\\| unchanged");
    String[] range = {"--from", "2026-01-05", "--to", "2026-01-08"};
    assertThat(ok(conf, concat("features", "materialize", "customer_activity", range)).out())
        .contains("6 rows merged into features.customer_activity");
    assertThat(ok(conf, concat("features", "materialize", "customer_activity", range)).out())
        .contains("was already materialized from this source version");
    assertThat(ok(conf, "features", "stats", "customer_activity").out())
        .containsPattern("orders_7d +\\| 6 +\\| 0 +\\| 1 +\\| 2 ");
    assertThat(ok(conf, "features", "list").out())
        .contains("customer_activity | shop.orders | features.customer_activity | daily | 2d")
        .contains("2026-01-08T00:00:00Z");
    assertThat(ok(conf, "features", "show", "customer_activity").out())
        .contains("table:        features.customer_activity", "  grain: daily");
    assertThat(ok(conf, "features", "training-set", churn.toString()).out())
        .contains("training.churn: 3 rows written");
    assertThat(ok(conf, "features", "training-set", churn.toString()).out())
        .contains("training.churn is up to date: version ");
    assertThat(
            ok(
                    conf,
                    "sql",
                    "--format",
                    "csv",
                    "select customer_id, label, orders_7d, spend_30d from iceberg.training.churn"
                        + " order by 1")
                .out())
        .isEqualTo("customer_id,label,orders_7d,spend_30d\n1,1,2,25.50\n2,0,,\n3,0,,\n");

    try (Connection c = DriverManager.getConnection(catalogUrl);
        Statement s = c.createStatement();
        var rs =
            s.executeQuery(
                "select (select count(*) from feature_sets where name = 'customer_activity'),"
                    + " (select count(*) from runs where status = 'succeeded'"
                    + " and job in ('features.materialize', 'features.training-set')),"
                    + " (select count(*) from iceberg_tables where table_namespace in"
                    + " ('features', 'training'))")) {
      rs.next();
      assertThat(rs.getInt(1)).as("the registered feature set").isEqualTo(1);
      assertThat(rs.getInt(2)).as("2 materializations + 2 training-set builds").isEqualTo(4);
      assertThat(rs.getInt(3)).as("the Iceberg feature and training tables").isEqualTo(2);
    }
  }

  private static String[] concat(String a, String b, String c, String[] rest) {
    List<String> all = new ArrayList<>(List.of(a, b, c));
    all.addAll(List.of(rest));
    return all.toArray(String[]::new);
  }
}
