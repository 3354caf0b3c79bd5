package dev.lakeforge.lakehouse.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.AuditLog;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.Platform;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The attacker's corpus: each statement runs as a principal that holds nothing and must be denied
 * naming principal, privilege and object, with the denial audited and no table or catalog row
 * changed; then the privilege is granted and the same statement runs. The checks are the session
 * extension's, on the analysed plan (and, for what Spark runs during analysis, the parsed one).
 */
class AccessCorpusTest extends SparkTestBase {
  private static final AtomicInteger PRINCIPALS = new AtomicInteger();
  private static CatalogDatabase db;
  private static Path scratch;

  @BeforeAll
  static void shop() throws Exception {
    CliRun r =
        CliRun.run(
            home, "quickstart", "--rows", "300", "--shop-only"); // the OS user becomes the admin
    assertThat(r.code()).as(r.toString()).isZero();
    spark = org.apache.spark.sql.SparkSession.active();
    db = CatalogDatabase.of(Platform.of(spark));
    scratch = Files.createDirectories(home.resolve("scratch"));
    Files.writeString(scratch.resolve("a.json"), "{\"a\": 1}\n");
  }

  /** One attack: the statement, the privilege it needs, and the object it needs it on. */
  record Case(
      String sql,
      Privilege privilege,
      String object,
      Privilege grant,
      String grantOn,
      String errorOnceGranted) {
    @Override
    public String toString() {
      return sql;
    }
  }

  private static Case c(String sql, Privilege p, String object) {
    return new Case(sql, p, object, p, object, null);
  }

  /** A case whose statement, once allowed, fails for a reason of its own (named here). */
  private static Case c(String sql, Privilege p, String object, String errorOnceGranted) {
    return new Case(sql, p, object, p, object, errorOnceGranted);
  }

  /**
   * A case whose first denial is {@code p} on {@code object}, and that runs once granted {@code
   * grant}.
   */
  private static Case c(String sql, Privilege p, String object, Privilege grant, String grantOn) {
    return new Case(sql, p, object, grant, grantOn, null);
  }

  private static final String ORDERS = "table:shop.orders";
  private static final String CUSTOMERS = "table:shop.customers";
  private static final String PRODUCTS = "table:shop.products";
  private static final Privilege SELECT = Privilege.SELECT;
  private static final Privilege MODIFY = Privilege.MODIFY;
  private static final Privilege ADMIN = Privilege.ADMIN;

  static Stream<Case> corpus() {
    String dir = scratch == null ? "/nonexistent" : scratch.toString();
    return Stream.of(
        // reads
        c("select * from shop.orders", SELECT, ORDERS),
        c("select count(*) from spark_catalog.shop.orders", SELECT, ORDERS),
        c("with x as (select * from shop.orders) select count(*) from x", SELECT, ORDERS),
        c(
            "with x as (select 1 as a), y as (select * from shop.orders) select * from x, y",
            SELECT,
            ORDERS),
        c("select * from IDENTIFIER('shop.orders')", SELECT, ORDERS),
        c("EXECUTE IMMEDIATE 'select count(*) from shop.orders'", SELECT, ORDERS),
        c(
            "select * from table_changes('shop.orders', 0)",
            SELECT,
            ORDERS,
            "DELTA_MISSING_CHANGE_DATA"),
        c("select * from (select * from (select order_id from shop.orders))", SELECT, ORDERS),
        c("select 1 where exists (select 1 from shop.orders)", SELECT, ORDERS),
        c("select (select max(amount) from shop.orders) as m", SELECT, ORDERS),
        c("select 1 where 1 in (select quantity from shop.orders)", SELECT, ORDERS),
        c("select * from range(3) r left join shop.orders o on r.id = o.order_id", SELECT, ORDERS),
        c("select 1 union all select order_id from shop.orders", SELECT, ORDERS),
        c("select * from shop.orders version as of 0", SELECT, ORDERS),
        c("select * from iceberg.shop.products", SELECT, PRODUCTS),
        c("select * from iceberg.shop.products.snapshots", SELECT, PRODUCTS),
        c("select * from iceberg.shop.products.files", SELECT, PRODUCTS),
        c("select * from iceberg.shop.products.history", SELECT, PRODUCTS),
        c(
            "select p.name from iceberg.shop.products p join range(3) r on p.product_id = r.id",
            SELECT,
            PRODUCTS),
        c("describe history shop.orders", SELECT, ORDERS),
        c("describe detail shop.orders", SELECT, ORDERS),
        c("describe shop.orders", SELECT, ORDERS),
        c("show tblproperties shop.orders", SELECT, ORDERS),
        c("show create table iceberg.shop.products", SELECT, PRODUCTS),
        c(
            "select * from lakeforge.audit",
            SELECT,
            "table:lakeforge.audit",
            SELECT,
            "namespace:lakeforge"),
        c(
            "select * from lakeforge.grants",
            SELECT,
            "table:lakeforge.grants",
            SELECT,
            "namespace:lakeforge"),
        c("select * from text.`" + dir + "/a.json`", ADMIN, "*"),
        c("select * from delta.`" + "WAREHOUSE/delta/shop/orders`", SELECT, ORDERS),
        c("select * from parquet.`WAREHOUSE/delta/shop/orders`", ADMIN, "*"),
        c("select * from text.`WAREHOUSE/delta/shop/orders/_delta_log`", ADMIN, "*"),
        // writes
        c("insert into shop.orders select * from shop.orders where false", MODIFY, ORDERS),
        c(
            "with y as (select * from shop.orders) insert into shop.orders select * from y where false",
            MODIFY,
            ORDERS),
        c(
            "insert into IDENTIFIER('shop.orders') select * from shop.orders where false",
            MODIFY,
            ORDERS),
        c("insert overwrite shop.customers select * from shop.customers", MODIFY, CUSTOMERS),
        c(
            "from shop.customers insert into shop.customers select * where false insert into shop.customers select * where false",
            MODIFY,
            CUSTOMERS),
        c("EXECUTE IMMEDIATE 'DELETE FROM shop.orders WHERE false'", MODIFY, ORDERS),
        c("delete from shop.orders where false", MODIFY, ORDERS),
        c("update shop.customers set name = name where false", MODIFY, CUSTOMERS),
        c(
            "merge into shop.customers t using (select * from shop.customers) s on t.customer_id = s.customer_id when matched then update set *",
            MODIFY,
            CUSTOMERS),
        c(
            "with s as (select * from shop.customers) merge into shop.customers t using s on t.customer_id = s.customer_id when matched then update set *",
            MODIFY,
            CUSTOMERS),
        c(
            "insert into iceberg.shop.products select * from iceberg.shop.products where false",
            MODIFY,
            PRODUCTS),
        c("delete from iceberg.shop.products where false", MODIFY, PRODUCTS),
        c("update iceberg.shop.products set name = name where false", MODIFY, PRODUCTS),
        c(
            "merge into iceberg.shop.products t using (select 1L as product_id, 'n' as name) s"
                + " on t.product_id = s.product_id when matched then update set name = s.name",
            MODIFY,
            PRODUCTS),
        c("optimize shop.orders", MODIFY, ORDERS),
        c("vacuum shop.orders retain 1000 hours", MODIFY, ORDERS),
        c("restore table shop.customers to version as of 1", MODIFY, CUSTOMERS),
        c(
            "CALL iceberg.system.expire_snapshots(table => 'shop.products', retain_last => 100)",
            MODIFY,
            PRODUCTS),
        c("CALL iceberg.system.rewrite_data_files('shop.products')", MODIFY, PRODUCTS),
        c(
            "EXECUTE IMMEDIATE 'CALL iceberg.system.rewrite_manifests(''shop.products'')'",
            MODIFY,
            PRODUCTS),
        c(
            "CALL iceberg.system.remove_orphan_files(table => 'shop.products', location => '"
                + dir
                + "', dry_run => true)",
            ADMIN,
            "*"),
        c(
            "CALL iceberg.system.register_table(table => 'shop.evil', metadata_file => '"
                + dir
                + "/x.json')",
            ADMIN,
            "*",
            "not a valid metadata file"),
        // DDL, settings, paths, Java
        c("create table shop.evil (a int) using delta", ADMIN, "*"),
        c("create table shop.evil2 using delta location 'WAREHOUSE/delta/shop/orders'", ADMIN, "*"),
        c("create table iceberg.shop.evil (a int)", ADMIN, "*"),
        c("create view shop.v as select * from shop.orders", ADMIN, "*"),
        c("alter table shop.orders set tblproperties ('delta.appendOnly' = 'false')", ADMIN, "*"),
        c("set spark.lakeforge.principal = admin", ADMIN, "*"),
        c(
            "set spark.sql.catalog.evil = org.apache.spark.sql.execution.datasources.v2.jdbc.JDBCTableCatalog",
            ADMIN,
            "*"),
        c("set spark.databricks.delta.retentionDurationCheck.enabled = false", ADMIN, "*"),
        c("insert overwrite directory '" + dir + "/out' using parquet select 1 as a", ADMIN, "*"),
        c("select reflect('java.lang.System', 'getProperty', 'user.home')", ADMIN, "*"),
        c("select java_method('java.lang.System', 'getProperty', 'user.home')", ADMIN, "*"),
        c("select try_reflect('java.lang.System', 'getProperty', 'user.home')", ADMIN, "*"),
        c(
            "select * from range(1) where reflect('java.lang.System', 'getProperty', 'user.home') is not null",
            ADMIN,
            "*"),
        c("select transform(1) using 'cat' as (a)", ADMIN, "*"),
        c("cache table shop.orders", ADMIN, "*"),
        c("create temporary view tv using json options (path '" + dir + "')", ADMIN, "*"),
        c(
            "select * from shop.customers timestamp as of (select max(order_ts) from shop.orders)",
            ADMIN,
            "*",
            "No plan for"));
  }

  private static String resolve(String sql) {
    return sql.replace("WAREHOUSE", Platform.of(spark).warehouse());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void deniedAuditedAndHarmlessThenAllowedOnceGranted(Case c) {
    String who = "intruder" + PRINCIPALS.incrementAndGet();
    String sql = resolve(c.sql());
    Map<String, Object> before = state();
    long denialsBefore = denials(who, c);

    as(who);
    assertThatThrownBy(() -> spark.sql(sql).collect())
        .as(sql)
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll(who, c.privilege().name(), c.object());
    asAdmin();
    assertThat(denials(who, c)).as("denial audited").isEqualTo(denialsBefore + 1);
    assertThat(state()).as("nothing changed").isEqualTo(before);

    new AccessControl(db).grant(Identity.current(), c.grant(), c.grantOn(), who, false);
    as(who);
    try {
      spark.sql(sql).collect();
      assertThat(c.errorOnceGranted()).as("expected to fail once granted").isNull();
    } catch (AccessDeniedException e) {
      throw new AssertionError("still denied once granted: " + e.getMessage(), e);
    } catch (Exception e) {
      if (c.errorOnceGranted() == null) {
        throw e;
      }
      assertThat(e).hasStackTraceContaining(c.errorOnceGranted());
    } finally {
      asAdmin();
    }
  }

  @Test
  void theCatalogsOwnTablesAreReadOnlyEvenToAdmins() {
    for (String sql :
        List.of(
            "insert into lakeforge.grants values ('ADMIN', '*', 'principal', 'x', 'x', 'x')",
            "delete from lakeforge.audit_log where true",
            "insert into lakeforge.audit_log (at, principal, action, object, outcome) values ('a','b','c','d','e')")) {
      Map<String, Object> before = state();
      assertThatThrownBy(() -> spark.sql(sql).collect())
          .as(sql)
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageContaining("read-only");
      assertThat(state()).isEqualTo(before);
    }
  }

  @Test
  void theCatalogsSqlConnectionIsReadOnlyEvenPastTheChecks() {
    Map<String, Object> before = state();
    // Inside the internal scope no check runs: only the read-only connection stands in the way.
    for (String sql :
        List.of(
            "insert into lakeforge.grants values ('ADMIN', '*', 'principal', 'x', 'x', 'x')",
            "insert into lakeforge.audit_log (at, principal, action, object, outcome) values"
                + " ('a', 'b', 'c', 'd', 'e')")) {
      assertThatThrownBy(() -> AccessScope.internal(() -> spark.sql(sql).collect()))
          .as(sql)
          .isNotInstanceOf(AccessDeniedException.class)
          .satisfies(
              e ->
                  assertThat(org.assertj.core.util.Throwables.getStackTrace(e))
                      .containsAnyOf("SQLITE_READONLY", "read-only transaction"));
    }
    assertThat(state()).isEqualTo(before);
  }

  @Test
  void currentUserIsThePrincipal() {
    as("analyst");
    try {
      assertThat(spark.sql("select current_user()").first().getString(0)).isEqualTo("analyst");
    } finally {
      asAdmin();
    }
  }

  private static void as(String principal) {
    spark.conf().set(Principal.SPARK_CONF, principal);
  }

  private static void asAdmin() {
    spark.conf().unset(Principal.SPARK_CONF); // the identity itself: the catalog's admin
  }

  private static long denials(String who, Case c) {
    return new AuditLog(db)
        .read(new AuditLog.Filter(Optional.of(who), Optional.empty(), Optional.empty())).stream()
            .filter(e -> e.outcome().equals(AuditLog.DENIED) && e.object().equals(c.object()))
            .count();
  }

  /** Table versions and the catalog rows an attacker would want to change. */
  private static Map<String, Object> state() {
    Map<String, Object> s = new LinkedHashMap<>();
    AccessScope.internal(
        () -> {
          for (String t : List.of("shop.orders", "shop.customers")) {
            s.put(t, spark.sql("describe history " + t + " limit 1").first().getLong(0));
          }
          s.put(
              "shop.products",
              spark
                  .sql(
                      "select snapshot_id from iceberg.shop.products.snapshots order by committed_at desc limit 1")
                  .first()
                  .getLong(0));
          s.put(
              "tables",
              spark.sql("show tables in shop").collectAsList().stream()
                  .map(r -> r.getString(1))
                  .sorted()
                  .toList());
        });
    try (Connection c = db.connect();
        Statement st = c.createStatement()) {
      for (String table : List.of("grants", "principals", "model_aliases", "datasets")) {
        try (ResultSet rs = st.executeQuery("select count(*) from " + table)) {
          rs.next();
          s.put(table, rs.getLong(1));
        }
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    return s;
  }
}
