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

  @Test
  void theCatalogAndIcebergLiveInPostgres() throws Exception {
    String url = CatalogBackend.postgresUrl();
    String schema = "lf_platform_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    }
    String catalogUrl = url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    Path conf =
        Files.writeString(
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
}
