package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.features.FeatureSetDefinition;
import dev.lakeforge.features.TrainingSetSpec;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code lakeforge features} end to end, in-process, on the example specs in {@code conf/}: apply,
 * materialize, stats, list, show, a training set, an analyst's query by name, and a bad spec that
 * changes nothing.
 */
class FeaturesCliTest extends SparkTestBase {
  private static final Path ACTIVITY = Path.of("conf/features/customer_activity.yaml");
  private static final Path CHURN = Path.of("conf/training/churn.yaml");

  private static CliRun cli(String... args) {
    return CliRun.run(home, args);
  }

  private static CliRun ok(String... args) {
    CliRun r = cli(args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  @BeforeAll
  static void shop() {
    ok("tables", "apply", "conf/tables/shop_orders.yaml");
    Path spine =
        write(
            home.resolve("specs"),
            "spine.yaml",
            """
            name: shop.churn_spine
            format: delta
            columns:
              - {name: customer_id, type: bigint}
              - {name: as_of, type: timestamp}
              - {name: label, type: int}
            """);
    ok("tables", "apply", spine.toString());
    spark.sql(
        "INSERT INTO shop.orders VALUES"
            + " (1, 1, 10, 2, 20.00, TIMESTAMP '2026-01-03 10:00:00', DATE '2026-01-03'),"
            + " (2, 1, 11, 1, 5.50, TIMESTAMP '2026-01-06 09:00:00', DATE '2026-01-06'),"
            + " (3, 1, 12, 0, 9.99, TIMESTAMP '2026-01-06 10:00:00', DATE '2026-01-06'),"
            + " (4, 2, 10, 5, 100.00, TIMESTAMP '2026-01-01 00:00:00', DATE '2026-01-01')");
    spark.sql(
        "INSERT INTO shop.churn_spine VALUES (1, TIMESTAMP '2026-01-07 12:00:00', 1),"
            + " (2, TIMESTAMP '2026-01-10 00:00:00', 0), (3, TIMESTAMP '2026-01-07 00:00:00', 0)");
  }

  @Test
  void theExampleSpecsParse() {
    assertThat(FeatureSetDefinition.read(ACTIVITY).spec().featureNames())
        .containsExactly(
            "orders_7d",
            "orders_30d",
            "spend_7d",
            "spend_30d",
            "products_30d",
            "last_order_ts",
            "days_since_last_order");
    assertThat(YamlSpecReader.read(CHURN, TrainingSetSpec.class, "training-set spec").features())
        .hasSize(1);
  }

  @Test
  void applyMaterializeStatsListShowTrainingSetAndAnAnalystQuery() {
    assertThat(ok("features", "apply", ACTIVITY.toString()).out())
        .containsPattern(
            "customer_activity \\| features.customer_activity \\| created +\\| registered");
    assertThat(ok("features", "apply", "conf/features").out())
        .containsPattern(
            "customer_activity \\| features.customer_activity \\| unchanged +\\| unchanged");

    assertThat(
            ok(
                    "features",
                    "materialize",
                    "customer_activity",
                    "--from",
                    "2026-01-05",
                    "--to",
                    "2026-01-08")
                .out())
        .contains(
            "customer_activity: [2026-01-05T00:00:00Z, 2026-01-08T00:00:00Z) from source version",
            "6 rows merged into features.customer_activity");
    assertThat(
            ok(
                    "features",
                    "materialize",
                    "customer_activity",
                    "--from",
                    "2026-01-05",
                    "--to",
                    "2026-01-08")
                .out())
        .contains("was already materialized from this source version");

    assertThat(ok("features", "stats", "customer_activity").out())
        .contains("customer_activity: [2026-01-05T00:00:00Z, 2026-01-08T00:00:00Z)")
        .containsPattern("orders_7d +\\| 6 +\\| 0 +\\| 1 +\\| 2 ")
        .containsPattern("days_since_last_order +\\| 6 +\\| 0 +\\| 1 +\\| 6 ");
    assertThat(ok("features", "list").out())
        .contains("customer_activity | shop.orders | features.customer_activity | daily | 2d")
        .contains("2026-01-08T00:00:00Z");
    assertThat(ok("features", "show", "customer_activity").out())
        .contains("table:        features.customer_activity", "  grain: daily");

    assertThat(ok("features", "training-set", CHURN.toString()).out())
        .contains("training.churn: 3 rows written")
        .contains("shop.churn_spine@", "features.customer_activity@");
    assertThat(ok("features", "training-set", CHURN.toString()).out())
        .as("the same spec from the same input versions")
        .containsPattern(
            "training.churn is up to date: version \\d+ was built from this spec and"
                + " shop.churn_spine@\\d+, features.customer_activity@\\d+; nothing written");

    ok("catalog", "grant", "SELECT", "namespace:features", "analyst");
    ok("catalog", "grant", "SELECT", "namespace:training", "analyst");
    assertThat(
            ok(
                    "--as",
                    "analyst",
                    "sql",
                    "--format",
                    "csv",
                    "select customer_id, orders_7d, spend_7d, days_since_last_order from"
                        + " features.customer_activity where feature_ts = '2026-01-07' order by 1")
                .out())
        .contains("1,2,25.50,1", "2,1,100.00,6");
    assertThat(
            ok(
                    "--as",
                    "analyst",
                    "sql",
                    "--format",
                    "csv",
                    "select customer_id, label, orders_7d, spend_30d from training.churn order by 1")
                .out())
        .contains("1,1,2,25.50", "2,0,,", "3,0,,");
  }

  @Test
  void aBadSpecNamesTheFileAndFieldAndCreatesNothing() {
    Path bad =
        write(
            home.resolve("bad"),
            "bad.yaml",
            """
            name: bad_activity
            keys: [customer_id]
            source: {table: shop.orders, timestamp: order_ts}
            features:
              - {name: spend_7d, agg: sum, expr: order_date, window: 7d}
            output: {table: features.bad_activity, format: iceberg}
            grain: daily
            ttl: 2d
            """);
    CliRun r = cli("features", "apply", bad.toString());
    assertThat(r.code()).as(r.toString()).isEqualTo(1);
    assertThat(r.err())
        .startsWith(
            "error: "
                + bad
                + ": feature set bad_activity: `features[0].expr` of spend_7d"
                + " is DATE, which sum cannot aggregate");
    assertThat(ok("features", "list").out()).doesNotContain("bad_activity");
    assertThat(cli("tables", "describe", "features.bad_activity").code()).isEqualTo(1);
  }
}
