package dev.lakeforge.quickstart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CliRun;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart through the CLI on a small shop, then queried from a new session (the first one
 * stopped, as a second {@code bin/lakeforge sql} would), then re-run: idempotent. The churn example
 * (features, spine, training set, model, predictions, lineage) is checked against what the
 * generator's orders say.
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

    // the expected revenue, computed from the generator, not from the tables; the spine's labels
    // and the customers active in the 90 days before the last boundary, too (one pass over the
    // generated orders: decimal sums are exact, so summing here equals Spark's sum(amount))
    BigDecimal expected = BigDecimal.ZERO;
    Map<Long, List<Instant>> ordersByCustomer = new HashMap<>();
    for (Row r :
        data.orders(SparkSession.active())
            .select("customer_id", "order_ts", "amount")
            .collectAsList()) {
      ordersByCustomer
          .computeIfAbsent(((Number) r.get(0)).longValue(), k -> new java.util.ArrayList<>())
          .add(((Timestamp) r.get(1)).toInstant());
      expected = expected.add(r.getDecimal(2));
    }
    Instant firstDay = Instant.parse("2026-01-01T00:00:00Z");
    Instant last = Instant.parse("2026-04-01T00:00:00Z");
    // weekly from day 35 while the 14 days of the label stay inside the 90 days of orders
    List<Instant> asOf =
        List.of(35, 42, 49, 56, 63, 70).stream()
            .map(d -> firstDay.plus(Duration.ofDays(d)))
            .toList();
    long positives = 0;
    Set<Long> active = new HashSet<>();
    for (long c = 1; c <= data.customers(); c++) {
      List<Instant> orders = ordersByCustomer.getOrDefault(c, List.of());
      for (Instant t : asOf) {
        boolean again =
            orders.stream().anyMatch(o -> o.isAfter(t) && !o.isAfter(t.plus(Duration.ofDays(14))));
        positives += again ? 1 : 0;
      }
      if (orders.stream().anyMatch(o -> o.isAfter(last.minus(Duration.ofDays(90))))) {
        active.add(c);
      }
    }
    long spineRows = data.customers() * asOf.size();
    assertThat(positives).as("both labels occur").isBetween(1L, spineRows - 1);
    double churnRate = 1 - positives / (double) spineRows;
    assertThat(first.out())
        .containsPattern("features: features.customer_activity, \\d+ rows \\(daily\\)\n")
        .contains("training: training.churn, " + spineRows + " labelled rows (")
        .contains(
            "model:    churn/1 (logistic regression on days_since_last_order, orders_30d,"
                + " orders_7d, products_30d, spend_30d; sha256 ")
        .contains(", registered as champion")
        .contains(
            "scored:   "
                + active.size()
                + " customers in predictions.churn_scores ("
                + active.size()
                + " new)")
        .contains("Lineage of predictions.churn_scores (upstream):");
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

    assertThat(
            csv(
                "select count(distinct feature_ts) > 1 as daily,"
                    + " count_if(feature_ts = timestamp '2026-04-01 00:00:00Z') as latest"
                    + " from features.customer_activity"))
        .as("feature rows at many boundaries, one per active customer at the last one")
        .isEqualTo("daily,latest\ntrue," + active.size() + "\n");
    assertThat(
            csv(
                "select count(*) as n, count(distinct as_of) as times, cast(min(as_of) as string)"
                    + " as first, sum(label) as positives from shop.churn_spine"))
        .isEqualTo(
            "n,times,first,positives\n" + spineRows + ",6,2026-02-05 00:00:00," + positives + "\n");
    assertThat(csv("select count(*) as n, sum(label) as positives from training.churn"))
        .isEqualTo("n,positives\n" + spineRows + "," + positives + "\n");
    assertThat(cli("models", "show", "churn@champion").out())
        .contains("model:       churn/1")
        .contains("input:       input float32 [-1, 5]");
    assertThat(
            csv(
                "select count(*) as n, count(distinct customer_id) as customers,"
                    + " min(probability) >= 0 and max(probability) <= 1 as probabilities,"
                    + " count(distinct label) <= 2 and min(label) in ('churns', 'stays') as labels,"
                    + " max(model_name) as model, max(model_version) as version,"
                    // a standardized logistic regression is calibrated in the large: its mean
                    // churn probability is near the training set's churn rate, not 0 or 1
                    + String.format(
                        " avg(probability) between %f and %f as calibrated",
                        churnRate / 4, churnRate * 4)
                    + " from predictions.churn_scores"))
        .isEqualTo(
            "n,customers,probabilities,labels,model,version,calibrated\n"
                + active.size()
                + ","
                + active.size()
                + ",true,true,churn,1,true\n");
    assertThat(cli("catalog", "lineage", "predictions.churn_scores").out())
        .containsPattern("model churn/1 +\\| infer +\\| predictions.churn_scores@v\\d")
        .containsPattern(
            "features.customer_activity@v\\d+ +\\| infer +\\| predictions.churn_scores@v\\d")
        .containsPattern("training.churn@v\\d+ +\\| quickstart.train +\\| model churn/1")
        .containsPattern(
            "shop.churn_spine@v\\d+ +\\| features.training-set +\\| training.churn@v\\d")
        .containsPattern(
            "shop.orders@v\\d+ +\\| features.materialize +\\| features.customer_activity@v\\d");
    List<String> histories =
        List.of(
            "features.customer_activity",
            "shop.churn_spine",
            "training.churn",
            "predictions.churn_scores");
    Map<String, String> before = new HashMap<>();
    histories.forEach(t -> before.put(t, cli("tables", "history", t).out()));
    dev.lakeforge.testing.SparkTestBase.stop();

    CliRun again = cli("quickstart", "--rows", "2000");
    assertThat(again.out())
        .contains("3 of 3 ingests were already committed")
        .contains("| 2000")
        .contains(", already up to date")
        .contains(" labelled rows (")
        .contains(", unchanged")
        .contains("model:    churn/1 (")
        .contains(", already champion")
        .contains(" customers in predictions.churn_scores (0 new)");
    assertThat(cli("tables", "history", "shop.orders").out()).isEqualTo(history);
    histories.forEach(
        t -> assertThat(cli("tables", "history", t).out()).as(t).isEqualTo(before.get(t)));
    assertThat(CliRun.run(home, "models", "show", "churn/2").err())
        .as("no second version")
        .contains("Model churn has no version 2 (versions: [1])");
  }

  private String csv(String query) {
    return cli("sql", "--format", "csv", query).out();
  }
}
