package dev.lakeforge.bench;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The floor under every one-shot Lakeforge command: a JVM that starts a bare local SparkSession (no
 * Delta, no Iceberg, no catalog database) and runs {@code select 1}. {@code bench/startup} times it
 * from the same shaded jar as the CLI, so the ratio of a CLI command to this is what Lakeforge adds
 * on top of Spark itself.
 *
 * <p>The session gets the embedded settings of {@code SessionFactory} that only switch things off
 * (UI, console progress) or pin the driver to loopback, so the baseline does not pay for a web UI
 * the CLI never starts.
 */
public final class BareSparkSelect {
  private BareSparkSelect() {}

  /** Starts the session, runs {@code select 1}, prints the row, stops the session. */
  public static void main(String[] args) {
    SparkSession spark =
        SparkSession.builder()
            .appName("bare-spark-select")
            .master("local[*]")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.catalogImplementation", "in-memory")
            .getOrCreate();
    try {
      List<Row> rows = spark.sql("select 1").collectAsList();
      System.out.println(rows);
    } finally {
      spark.stop();
    }
  }
}
