package dev.lakeforge.lakehouse.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.Platform;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import java.util.function.Supplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same checks hold for DataFrame code in a session with the extension (a notebook, a
 * spark-submit job): {@code spark.table}, {@code spark.read.format("delta").load(path)}, {@code
 * df.write}, {@code writeTo} — denied without the privilege (naming it), allowed once granted.
 */
class DataFrameAccessTest extends SparkTestBase {
  private static CatalogDatabase db;
  private static String orders;

  @BeforeAll
  static void shop() {
    CliRun r = CliRun.run(home, "quickstart", "--rows", "300", "--shop-only");
    assertThat(r.code()).as(r.toString()).isZero();
    spark = org.apache.spark.sql.SparkSession.active();
    db = CatalogDatabase.of(Platform.of(spark));
    orders = Platform.of(spark).warehouse() + "/delta/shop/orders";
  }

  private static <T> T as(String principal, Supplier<T> work) {
    spark.conf().set(Principal.SPARK_CONF, principal);
    try {
      return work.get();
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
  }

  private static void grant(Privilege p, String object, String who) {
    new AccessControl(db).grant(Identity.current(), p, object, who, false);
  }

  @Test
  void readsByNameAndByPathNeedSelect() {
    assertThatThrownBy(() -> as("df-reader", () -> spark.table("shop.orders").count()))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("df-reader", "SELECT", "table:shop.orders");
    assertThatThrownBy(
            () -> as("df-reader", () -> spark.read().format("delta").load(orders).count()))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("df-reader", "SELECT", "table:shop.orders");
    assertThatThrownBy(() -> as("df-reader", () -> spark.read().parquet(orders).count()))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("df-reader", "ADMIN", "reads files by path");
    long expected = AccessScope.internal(() -> spark.table("shop.orders").count());
    grant(Privilege.SELECT, "table:shop.orders", "df-reader");
    assertThat(as("df-reader", () -> spark.table("shop.orders").count())).isEqualTo(expected);
    assertThat(as("df-reader", () -> spark.read().format("delta").load(orders).count()))
        .isEqualTo(expected);
    assertThat(
            as(
                "df-reader",
                () ->
                    spark
                        .table("shop.orders")
                        .groupBy("order_date")
                        .count()
                        .collectAsList()
                        .size()))
        .isPositive();
  }

  private static void appendTo(Dataset<Row> rows) {
    try {
      rows.writeTo("shop.orders").append();
    } catch (org.apache.spark.sql.catalyst.analysis.NoSuchTableException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void writesNeedModify() {
    Dataset<Row> row =
        AccessScope.internal(() -> spark.table("shop.orders").limit(1).localCheckpoint());
    long versions = AccessScope.internal(() -> spark.sql("describe history shop.orders").count());
    assertThatThrownBy(
            () ->
                as(
                    "df-writer",
                    () -> {
                      row.write().format("delta").mode("append").save(orders);
                      return null;
                    }))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("df-writer", "MODIFY", "table:shop.orders");
    assertThatThrownBy(
            () ->
                as(
                    "df-writer",
                    () -> {
                      appendTo(row);
                      return null;
                    }))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("df-writer", "MODIFY", "table:shop.orders");
    assertThat(AccessScope.internal(() -> spark.sql("describe history shop.orders").count()))
        .isEqualTo(versions);
    grant(Privilege.MODIFY, "table:shop.orders", "df-writer");
    as(
        "df-writer",
        () -> {
          row.write().format("delta").mode("append").save(orders);
          appendTo(row);
          return null;
        });
    assertThat(AccessScope.internal(() -> spark.sql("describe history shop.orders").count()))
        .isEqualTo(versions + 2);
  }
}
