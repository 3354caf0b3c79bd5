package dev.lakeforge.bench;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.IngestJob;
import dev.lakeforge.lakehouse.MaintainJob;
import dev.lakeforge.lakehouse.SourceFormat;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.lakehouse.WriteMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;

/**
 * One profile's turn: a SparkSession built by {@link SessionFactory} on a fresh Lakeforge home, a
 * warm-up, then every workload timed through the production jobs. Closing it stops the session, so
 * the next round starts a new SparkContext with its own settings, as a new process would.
 *
 * <p>The settings are fixed when the session is built rather than set on a session's conf, so they
 * live in the SparkContext's conf, which every session a job derives for its writes and VACUUM
 * starts from, whether it makes a new session or clones the caller's.
 */
final class BenchRound implements AutoCloseable {
  static final TableName COMMITS = TableName.parse("bench.commits");

  private final Profile profile;
  private final SparkSession spark;
  private final TaskCounter tasks;

  private BenchRound(Profile profile, SparkSession spark) {
    this.profile = profile;
    this.spark = spark;
    this.tasks = TaskCounter.attach(spark.sparkContext());
  }

  /** Starts a session with {@code profile}'s settings on a Lakeforge home at {@code home}. */
  static BenchRound start(Profile profile, Path home) {
    PlatformConfig config = PlatformConfig.defaults();
    SparkSession spark =
        SessionFactory.getOrCreate(config, Platform.resolve(config, home), profile.overrides());
    return new BenchRound(profile, spark);
  }

  SparkSession spark() {
    return spark;
  }

  /** The values of the two settings under test as the session sees them. */
  String settings() {
    return String.format(
        "%s=%s, %s=%s",
        Profile.SNAPSHOT_PARTITIONS,
        spark.conf().get(Profile.SNAPSHOT_PARTITIONS, "(unset)"),
        Profile.LISTING_PARALLELISM,
        spark.conf().get(Profile.LISTING_PARALLELISM));
  }

  /**
   * Creates this round's tables and runs each workload once untimed on small input, so that the
   * session's first-use costs (catalogs, class loading, code generation) are not measured.
   *
   * @param ingests empty tables to create per ingest measurement
   * @param first whether this is the process's first, untimed round: it also ingests the full-size
   *     orders, so that the JIT has compiled the hot loops before any round is timed, and warms up
   *     maintenance (slow under the defaults, so later rounds skip it)
   */
  void warmUp(BenchData data, int ingests, boolean first) {
    List<TableSpec> specs = new ArrayList<>();
    specs.add(commitsSpec());
    for (TableFormat f : TableFormat.values()) {
      specs.add(ordersSpec(warmUpTable(f), f));
    }
    for (Measurement m : Measurement.values()) {
      for (int i = 0; m.ingest() && i < ingests; i++) {
        specs.add(ordersSpec(measuredTable(m, i), m.format()));
      }
    }
    new ApplyTablesJob(specs).run(spark);
    commit(data);
    commit(data);
    for (Measurement m : Measurement.values()) {
      if (m.ingest()) {
        ingest(warmUpTable(m.format()), data.warmUpOrdersCsv(), m.mode(), BenchData.WARM_UP_ORDERS);
        if (first) {
          ingest(warmUpTable(m.format()), data.ordersCsv(), m.mode(), data.orders());
        }
      }
    }
    if (first) {
      new MaintainJob(List.of(COMMITS), true).run(spark);
    }
  }

  /**
   * Times {@code commits} small commits, then {@code ingests} ingests of the orders per format and
   * mode (each into its own empty table), then maintenance of the table the commits made: a dry
   * run, then for real. Maintenance goes last so that the defaults' thousands of listing tasks
   * cannot slow down the other measurements.
   */
  List<Sample> measure(BenchData data, int commits, int ingests) {
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < commits; i++) {
      samples.add(time(Measurement.SMALL_COMMIT, () -> commit(data)));
    }
    for (int i = 0; i < ingests; i++) {
      for (Measurement m : Measurement.values()) {
        if (m.ingest()) {
          TableName table = measuredTable(m, i);
          samples.add(time(m, () -> ingest(table, data.ordersCsv(), m.mode(), data.orders())));
        }
      }
    }
    samples.add(time(Measurement.VACUUM_DRY_RUN, () -> maintain(true)));
    samples.add(time(Measurement.VACUUM, () -> maintain(false)));
    return samples;
  }

  private Sample time(Measurement m, Runnable run) {
    long tasksBefore = tasks.settled();
    long start = System.nanoTime();
    run.run();
    double seconds = (System.nanoTime() - start) / 1e9;
    Sample s = new Sample(m, profile, seconds, tasks.settled() - tasksBefore);
    SettingsBench.progress(
        String.format(
            Locale.ROOT, "%-9s %-15s %7.2f s %6d tasks", profile, m, s.seconds(), s.tasks()));
    return s;
  }

  private void commit(BenchData data) {
    ingest(COMMITS, data.tinyCsv(), WriteMode.OVERWRITE, 1);
  }

  private void ingest(TableName table, Path source, WriteMode mode, long rows) {
    IngestJob.Result r =
        IngestJob.builder(table, source.toString(), SourceFormat.CSV)
            .optMode(mode)
            .build()
            .run(spark);
    if (r.rowsWritten() != rows) {
      throw new IllegalStateException(
          String.format(
              "%s into %s wrote %d rows, expected %d: the run is not comparable.",
              mode, table, r.rowsWritten(), rows));
    }
  }

  private void maintain(boolean dryRun) {
    for (MaintainJob.Report r : new MaintainJob(List.of(COMMITS), dryRun).run(spark)) {
      SettingsBench.progress(
          String.format(
              Locale.ROOT,
              "%s %s: %s, %d bytes freed",
              profile,
              dryRun ? "maintain --dry-run" : "maintain",
              r.actions(),
              r.bytesFreed()));
    }
  }

  private static TableName measuredTable(Measurement m, int i) {
    return new TableName("bench", "orders_" + m.format().label() + "_" + m.mode() + "_" + i);
  }

  private static TableName warmUpTable(TableFormat format) {
    return new TableName("bench", "warm_up_" + format.label());
  }

  /**
   * One row per commit; retention keeps only the current version, so VACUUM removes every older
   * data file.
   */
  private static TableSpec commitsSpec() {
    return YamlSpecReader.parse(
        """
        name: %s
        format: delta
        columns:
          - {name: id, type: bigint, nullable: false}
          - {name: note, type: string}
        primary-key: [id]
        retention: {days: 0, versions: 1}
        """
            .formatted(COMMITS),
        TableSpec.class,
        "bench");
  }

  /** conf/tables/shop_orders.yaml without the partitioning, in either format. */
  private static TableSpec ordersSpec(TableName name, TableFormat format) {
    return YamlSpecReader.parse(
        """
        name: %s
        format: %s
        columns:
          - {name: order_id, type: bigint, nullable: false}
          - {name: customer_id, type: bigint, nullable: false}
          - {name: product_id, type: bigint, nullable: false}
          - {name: quantity, type: int}
          - {name: amount, type: 'decimal(12,2)'}
          - {name: order_ts, type: timestamp}
          - {name: order_date, type: date, nullable: false}
        primary-key: [order_id]
        """
            .formatted(name, format.label()),
        TableSpec.class,
        "bench");
  }

  @Override
  public void close() {
    spark.stop();
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }
}
