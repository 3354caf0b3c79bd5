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
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Column masks and row filters on a quickstart shop: results per principal, through joins, CTEs,
 * subqueries and the DataFrame API; exempt roles; admins masked unless exempted; restricted
 * principals may not write the table or read its metadata tables. Expected values are computed from
 * the stored rows, read as Lakeforge's own work.
 */
class MasksAndRowFiltersTest extends SparkTestBase {
  private static CatalogDatabase db;

  private static CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  @BeforeAll
  static void shopWithPolicies() {
    ok("quickstart", "--rows", "400", "--shop-only"); // the OS user becomes the admin
    spark = org.apache.spark.sql.SparkSession.active();
    db = CatalogDatabase.of(Platform.of(spark));
    ok("catalog", "roles", "add", "pii", "auditor");
    for (String p : List.of("analyst_de", "auditor")) {
      ok("catalog", "grant", "SELECT", "namespace:shop", p);
    }
    ok("catalog", "grant", "MODIFY", "namespace:shop", "analyst_de");
    ok(
        "catalog",
        "mask",
        "shop.customers",
        "email",
        "--expr",
        "sha2(email, 256)",
        "--exempt-role",
        "pii");
    ok("catalog", "row-filter", "shop.customers", "analyst_de", "--where", "country = 'DE'");
    ok("catalog", "row-filter", "shop.products", "analyst_de", "--where", "category = 'books'");
  }

  private static <T> T as(String principal, Supplier<T> work) {
    if (principal == null) {
      spark.conf().unset(Principal.SPARK_CONF);
    } else {
      spark.conf().set(Principal.SPARK_CONF, principal);
    }
    try {
      return work.get();
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
  }

  private static Set<String> strings(String sql) {
    Set<String> out = new TreeSet<>();
    for (Row r : spark.sql(sql).collectAsList()) {
      out.add(r.isNullAt(0) ? "<null>" : String.valueOf(r.get(0)));
    }
    return out;
  }

  private static Set<String> stored(String sql) {
    return AccessScope.internal(() -> strings(sql));
  }

  @Test
  void aFilteredPrincipalSeesMaskedValuesOfItsRowsOnly() {
    Set<String> expected =
        stored("select sha2(email, 256) from shop.customers where country = 'DE'");
    assertThat(expected).isNotEmpty();
    assertThat(as("analyst_de", () -> strings("select email from shop.customers")))
        .isEqualTo(expected);
    assertThat(
            as(
                "analyst_de",
                () -> strings("with c as (select * from shop.customers) select email from c")))
        .isEqualTo(expected);
    assertThat(
            as(
                "analyst_de",
                () ->
                    strings(
                        "select c.email from shop.orders o join shop.customers c using (customer_id)")))
        .isSubsetOf(expected);
    assertThat(
            as(
                "analyst_de",
                () ->
                    strings(
                        "select count(*) from shop.orders where customer_id in (select customer_id"
                            + " from shop.customers)")))
        .isEqualTo(
            stored(
                "select count(*) from shop.orders where customer_id in (select customer_id from"
                    + " shop.customers where country = 'DE')"));
    Set<String> viaDataFrame =
        as(
            "analyst_de",
            () ->
                spark.table("shop.customers").select("email").collectAsList().stream()
                    .map(r -> r.getString(0))
                    .collect(java.util.stream.Collectors.toCollection(TreeSet::new)));
    assertThat(viaDataFrame).as("the DataFrame API").isEqualTo(expected);
    assertThat(as("analyst_de", () -> strings("select distinct country from shop.customers")))
        .containsExactly("DE");
  }

  @Test
  void theExemptRoleReadsRawValuesAndAdminsAreMaskedUnlessExempted() {
    Set<String> raw = stored("select email from shop.customers");
    Set<String> hashed = stored("select sha2(email, 256) from shop.customers");
    assertThat(as("auditor", () -> strings("select email from shop.customers"))).isEqualTo(raw);
    assertThat(as(null, () -> strings("select email from shop.customers")))
        .as("the admin, not in the exempt role")
        .isEqualTo(hashed);
    assertThat(as(null, () -> strings("select count(*) from shop.customers")))
        .isEqualTo(stored("select count(*) from shop.customers"));
  }

  @Test
  void aRestrictedPrincipalMayNotWriteTheTableNorReadItsMetadataTables() {
    long before = AccessScope.internal(() -> spark.sql("describe history shop.customers").count());
    assertThatThrownBy(
            () ->
                as(
                    "analyst_de",
                    () -> spark.sql("update shop.customers set name = 'x' where true").collect()))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("analyst_de", "shop.customers", "may not write it");
    assertThat(AccessScope.internal(() -> spark.sql("describe history shop.customers").count()))
        .isEqualTo(before);
    assertThatThrownBy(
            () ->
                as(
                    "analyst_de",
                    () -> spark.sql("select * from iceberg.shop.products.files").collect()))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("analyst_de", "shop.products", "metadata tables");
    assertThat(
            as("analyst_de", () -> strings("select distinct category from iceberg.shop.products")))
        .isSubsetOf(Set.of("books"));
  }

  @Test
  void policiesAreValidatedAuditedAndAdminOnly() {
    CliRun bad = CliRun.run(home, "catalog", "mask", "shop.customers", "nosuch", "--expr", "'***'");
    assertThat(bad.code()).isEqualTo(1);
    assertThat(bad.err()).contains("no column 'nosuch'").contains("customer_id");
    CliRun badExpr =
        CliRun.run(
            home, "catalog", "mask", "shop.customers", "name", "--expr", "nosuch_col || 'x'");
    assertThat(badExpr.code()).isEqualTo(1);
    assertThat(badExpr.err()).contains("not valid SQL over table shop.customers");
    CliRun denied =
        CliRun.run(
            home,
            "--as",
            "auditor",
            "catalog",
            "mask",
            "shop.customers",
            "name",
            "--expr",
            "'***'");
    assertThat(denied.code()).isEqualTo(1);
    assertThat(denied.err()).contains("auditor").contains("ADMIN");
    assertThat(
            new AuditLog(db)
                    .read(
                        new AuditLog.Filter(
                            Optional.empty(),
                            Optional.of("table:shop.customers"),
                            Optional.empty()))
                    .stream()
                    .map(AuditLog.Entry::action)
                    .toList())
        .contains("catalog.mask", "catalog.row-filter");
    assertThat(ok("catalog", "mask", "shop.customers").out())
        .contains("email")
        .contains("sha2(email, 256)")
        .contains("principal:analyst_de")
        .contains("country = 'DE'");
    assertThat(new AccessControl(db).holds(Identity.current(), Privilege.ADMIN, "*")).isTrue();
  }
}
