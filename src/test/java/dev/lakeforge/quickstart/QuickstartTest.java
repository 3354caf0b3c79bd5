package dev.lakeforge.quickstart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CliRun;
import java.math.BigDecimal;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart through the CLI on a small shop, then queried from a new session (the first one
 * stopped, as a second {@code bin/lakeforge sql} would), then re-run: idempotent.
 */
class QuickstartTest {
  private static final String[] SMALL_SPARK = {
    "--spark-conf", "spark.master=local[2]",
    "--spark-conf", "spark.sql.shuffle.partitions=2",
    "--spark-conf", "spark.databricks.delta.snapshotPartitions=2"
  };

  @TempDir Path home;

  private CliRun cli(String... args) {
    String[] all = new String[SMALL_SPARK.length + args.length];
    System.arraycopy(SMALL_SPARK, 0, all, 0, SMALL_SPARK.length);
    System.arraycopy(args, 0, all, SMALL_SPARK.length, args.length);
    CliRun r = CliRun.run(home, all);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  @org.junit.jupiter.api.BeforeEach
  @AfterEach
  void stop() {
    dev.lakeforge.testing.SparkTestBase.stop();
  }

  @Test
  void buildsTheShopAndANewSessionCanQueryIt() {
    ShopData data = new ShopData(2_000);
    CliRun first = cli("quickstart", "--rows", "2000");
    assertThat(first.out())
        .contains("shop.customers | delta   | shop.customers        | 100")
        .contains("shop.products  | iceberg | iceberg.shop.products | 20")
        .contains("shop.orders    | delta   | shop.orders           | 2000")
        .contains("bin/lakeforge sql");
    assertThat(home.resolve("raw/shop/orders")).isDirectory();

    // the expected revenue, computed from the generator, not from the tables
    BigDecimal expected =
        data.orders(SparkSession.active())
            .agg(org.apache.spark.sql.functions.sum("amount"))
            .first()
            .getDecimal(0);
    dev.lakeforge.testing.SparkTestBase.stop();

    String total =
        cli("sql", "--format", "csv", "select sum(amount) as revenue from shop.orders").out();
    assertThat(total).isEqualTo("revenue\n" + expected.toPlainString() + "\n");
    String joined =
        cli(
                "sql",
                "--format",
                "csv",
                "select count(*) as n, count(p.product_id) as priced, count(distinct o.customer_id) <= 100 as ok"
                    + " from shop.orders o left join iceberg.shop.products p using (product_id)")
            .out();
    assertThat(joined).isEqualTo("n,priced,ok\n2000,2000,true\n");
    String history = cli("tables", "history", "shop.orders").out();
    dev.lakeforge.testing.SparkTestBase.stop();

    CliRun again = cli("quickstart", "--rows", "2000");
    assertThat(again.out()).contains("3 of 3 ingests were already committed").contains("| 2000");
    assertThat(cli("tables", "history", "shop.orders").out()).isEqualTo(history);
  }
}
