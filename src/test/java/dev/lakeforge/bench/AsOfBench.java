package dev.lakeforge.bench;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.hash;
import static org.apache.spark.sql.functions.last;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.timestamp_micros;
import static org.apache.spark.sql.functions.unix_micros;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.features.FeatureSource;
import dev.lakeforge.features.PointInTimeJoin;
import dev.lakeforge.features.Spine;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;

/**
 * Point-in-time join benchmark: the same training set built by Lakeforge's {@link PointInTimeJoin}
 * (with and without time buckets), the Feast-style plan and the union + last(ignoreNulls) window
 * plan, on the same generated data, in one JVM, after a warm-up. Each shape runs every plan once
 * untimed at its own scale ({@code --warmup}), then in timed rounds (the order rotated each round);
 * a run is timed from building the plan (Lakeforge's join runs its spine jobs then) to the end of a
 * noop write, and its Spark task metrics (peak execution memory, shuffle, spill) are summed by a
 * listener over the run's job group. Outputs are compared by an untimed fingerprint. Entry point of
 * {@code bench/asof}; prints Markdown tables on stdout.
 */
public final class AsOfBench {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final long HISTORY_MICROS = Duration.ofDays(90).toNanos() / 1000;
  private static final Duration TTL = Duration.ofHours(48);
  private static final long TTL_MICROS = TTL.toNanos() / 1000;

  private AsOfBench() {}

  /** One data shape: rows per entity decides who wins. */
  record Shape(String name, long spineRows, long featureRows, long entities) {}

  /** A plan under test. */
  record Plan(String name, Function<Inputs, Dataset<Row>> build) {}

  /** The generated tables, read back from Parquet. */
  record Inputs(Dataset<Row> spine, Dataset<Row> features) {}

  public static void main(String[] args) throws IOException {
    long spineRows = 100_000;
    long featureRows = 1_000_000;
    String shapes = "A,B,C";
    int repeats = 3;
    int warmups = 1;
    List<String> chosen = List.of("lakeforge", "lakeforge+buckets", "feast-style", "window", SCAN);
    Set<String> skip = new HashSet<>();
    double capSeconds = Double.POSITIVE_INFINITY;
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("Option '" + args[i] + "' needs a value.");
      }
      String v = args[i + 1];
      switch (args[i]) {
        case "--spine" -> spineRows = Long.parseLong(v.replace("_", ""));
        case "--features" -> featureRows = Long.parseLong(v.replace("_", ""));
        case "--shapes" -> shapes = v;
        case "--repeats" -> repeats = Integer.parseInt(v);
        case "--warmup" -> warmups = Integer.parseInt(v);
        case "--plans" -> chosen = Arrays.stream(v.split(",")).map(String::trim).toList();
        case "--skip" -> Arrays.stream(v.split(",")).map(String::trim).forEach(skip::add);
        case "--cap" -> capSeconds = Double.parseDouble(v);
        default ->
            throw new IllegalArgumentException(
                "Unknown option '"
                    + args[i]
                    + "': valid options are --spine, --features, --shapes, --repeats, --warmup,"
                    + " --plans, --skip, --cap.");
      }
    }
    if (repeats < 1) {
      throw new IllegalArgumentException("--repeats " + repeats + ": use 1 or more.");
    }
    if (warmups < 0) {
      throw new IllegalArgumentException("--warmup " + warmups + ": use 0 or more.");
    }
    Map<String, Plan> all = new LinkedHashMap<>();
    all.put("lakeforge", new Plan("lakeforge", AsOfBench::lakeforge));
    all.put("lakeforge+buckets", new Plan("lakeforge+buckets", AsOfBench::lakeforgeBucketed));
    all.put("lakeforge+bloom", new Plan("lakeforge+bloom", AsOfBench::lakeforgeBloom));
    all.put("feast-style", new Plan("feast-style", AsOfBench::feastStyle));
    all.put("window", new Plan("window", AsOfBench::window));
    all.put(SCAN, new Plan(SCAN, AsOfBench::scan));
    List<Plan> plans = new ArrayList<>();
    for (String name : chosen) {
      Plan p = all.get(name);
      if (p == null) {
        throw new IllegalArgumentException(
            "--plans: unknown plan '" + name + "': valid plans are " + all.keySet() + ".");
      }
      plans.add(p);
    }
    PrintStream report = System.out;
    System.setOut(System.err);
    Path work = Files.createTempDirectory("lakeforge-asof-");
    PlatformConfig config = PlatformConfig.defaults();
    SparkSession spark =
        SessionFactory.getOrCreate(
            config,
            Platform.resolve(config, work.resolve("home")),
            Map.of("spark.sql.shuffle.partitions", "8"));
    TaskMetricsListener listener = new TaskMetricsListener();
    spark.sparkContext().addSparkListener(listener);
    try {
      progress("warm-up on 10,000 x 100,000 rows");
      Inputs warm =
          generate(spark, work.resolve("warm"), new Shape("warm", 10_000, 100_000, 1_000));
      for (Plan p : plans) {
        run(spark, listener, p, warm);
      }
      StringBuilder out = new StringBuilder();
      out.append(
          String.format(
              Locale.ROOT,
              "repeats: %d timed rounds per shape, plan order rotated each round, after %d"
                  + " untimed warm-up round(s) at the shape's scale; time cap %s; skipped: %s%n%n",
              repeats,
              warmups,
              Double.isInfinite(capSeconds)
                  ? "none"
                  : String.format(
                      Locale.ROOT, "%.0f s (a plan over it is not run again)", capSeconds),
              skip.isEmpty() ? "none" : skip));
      for (String s : shapes.split(",")) {
        long perEntity =
            switch (s.trim()) {
              case "A" -> 10;
              case "B" -> 1_000;
              case "C" -> 10_000;
              default -> throw new IllegalArgumentException("shape " + s + ": use A, B or C");
            };
        Shape shape =
            new Shape(s.trim(), spineRows, featureRows, Math.max(1, featureRows / perEntity));
        progress("shape " + shape + ": generating");
        Inputs in = generate(spark, work.resolve("shape-" + shape.name()), shape);
        Map<String, List<Measured>> runs = new LinkedHashMap<>();
        Set<String> capped = new HashSet<>();
        for (Plan p : plans) {
          runs.put(p.name(), new ArrayList<>());
        }
        // The first run at a new scale was slower for every plan (why is not established: a fixed,
        // pre-touched heap did not change it): in one run on B, 17.0 s against 10.3 s for the Feast
        // plan, 5.3 s against 2.5 s for Lakeforge.
        for (int round = 0; round < warmups; round++) {
          for (Plan p : plans) {
            if (skip.contains(p.name() + ":" + shape.name()) || capped.contains(p.name())) {
              continue;
            }
            Measured m = run(spark, listener, p, in);
            progress(
                String.format(
                    Locale.ROOT,
                    "shape %s warm-up %d %s: %.2f s",
                    shape.name(),
                    round + 1,
                    p.name(),
                    m.seconds()));
            if (m.seconds() > capSeconds) {
              runs.get(p.name()).add(m); // its one run: over the cap, it is not run again
              capped.add(p.name());
            }
          }
        }
        for (int round = 0; round < repeats; round++) {
          for (int k = 0; k < plans.size(); k++) {
            Plan p = plans.get((k + round) % plans.size());
            if (skip.contains(p.name() + ":" + shape.name()) || capped.contains(p.name())) {
              continue;
            }
            Measured m = run(spark, listener, p, in);
            runs.get(p.name()).add(m);
            progress(
                String.format(
                    Locale.ROOT,
                    "shape %s round %d %s: %.2f s (building %.2f s), %s",
                    shape.name(),
                    round + 1,
                    p.name(),
                    m.seconds(),
                    m.buildSeconds(),
                    m.metrics()));
            if (m.seconds() > capSeconds) {
              capped.add(p.name());
            }
          }
        }
        Map<String, String> outputs = checkOutputs(spark, plans, runs, capped, in);
        out.append(table(shape, plans, runs, capped, skip, outputs));
      }
      report.print(out);
      report.flush();
    } finally {
      spark.sparkContext().removeSparkListener(listener);
      spark.stop();
    }
  }

  /** One timed run: seconds (building the plan included) and Spark's task metrics. */
  record Measured(double seconds, double buildSeconds, Metrics metrics) {}

  /** Spark's task accounting over the jobs of one run. */
  record Metrics(
      long tasks,
      long maxTaskPeakExecutionMemory,
      long sumTaskPeakExecutionMemory,
      long shuffleBytesWritten,
      long shuffleRecordsWritten,
      long largestStageShuffleRecords,
      long memoryBytesSpilled,
      long diskBytesSpilled,
      long inputRecords,
      long cpuNanos) {
    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "%d tasks, peak exec mem max %s sum %s, shuffle %s / %,d rows (largest stage %,d),"
              + " spill mem %s disk %s, input rows %,d, task CPU %.2f s",
          tasks,
          mib(maxTaskPeakExecutionMemory),
          mib(sumTaskPeakExecutionMemory),
          mib(shuffleBytesWritten),
          shuffleRecordsWritten,
          largestStageShuffleRecords,
          mib(memoryBytesSpilled),
          mib(diskBytesSpilled),
          inputRecords,
          cpuNanos / 1e9);
    }
  }

  /**
   * Sums the metrics of the tasks of the stages submitted under one job group (the run's), so that
   * late events of an earlier run are not counted. Read after the listener bus is drained.
   */
  static final class TaskMetricsListener extends SparkListener {
    private final Map<Integer, String> stageGroup = new ConcurrentHashMap<>();
    private final Map<Integer, long[]> stageShuffleRecords = new ConcurrentHashMap<>();
    private volatile String group = "";
    private long tasks;
    private long maxPeak;
    private long sumPeak;
    private long shuffleBytes;
    private long shuffleRecords;
    private long spillMem;
    private long spillDisk;
    private long input;
    private long cpu;

    synchronized void start(String runGroup) {
      group = runGroup;
      stageShuffleRecords.clear();
      tasks =
          maxPeak =
              sumPeak = shuffleBytes = shuffleRecords = spillMem = spillDisk = input = cpu = 0;
    }

    synchronized Metrics finish() {
      long largest = stageShuffleRecords.values().stream().mapToLong(a -> a[0]).max().orElse(0L);
      return new Metrics(
          tasks,
          maxPeak,
          sumPeak,
          shuffleBytes,
          shuffleRecords,
          largest,
          spillMem,
          spillDisk,
          input,
          cpu);
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted submitted) {
      java.util.Properties props = submitted.properties();
      String g = props == null ? null : props.getProperty("spark.jobGroup.id");
      if (g != null) {
        stageGroup.put(submitted.stageInfo().stageId(), g);
      }
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
      TaskMetrics m = end.taskMetrics();
      if (m == null || !group.equals(stageGroup.get(end.stageId()))) {
        return;
      }
      tasks++;
      maxPeak = Math.max(maxPeak, m.peakExecutionMemory());
      sumPeak += m.peakExecutionMemory();
      shuffleBytes += m.shuffleWriteMetrics().bytesWritten();
      shuffleRecords += m.shuffleWriteMetrics().recordsWritten();
      spillMem += m.memoryBytesSpilled();
      spillDisk += m.diskBytesSpilled();
      input += m.inputMetrics().recordsRead();
      cpu += m.executorCpuTime();
      stageShuffleRecords.computeIfAbsent(end.stageId(), k -> new long[1])[0] +=
          m.shuffleWriteMetrics().recordsWritten();
    }
  }

  private static final String SCAN = "scan";

  private static int runCounter;

  /** Builds (the join's own small jobs included) and runs the plan to a noop sink. */
  private static Measured run(
      SparkSession spark, TaskMetricsListener listener, Plan plan, Inputs in) {
    String group = "asof-" + (++runCounter) + "-" + plan.name();
    drain(spark);
    listener.start(group);
    spark.sparkContext().setJobGroup(group, plan.name(), false);
    try {
      long start = System.nanoTime();
      Dataset<Row> built = plan.build().apply(in);
      double buildSeconds = (System.nanoTime() - start) / 1e9;
      built.write().format("noop").mode("overwrite").save();
      double seconds = (System.nanoTime() - start) / 1e9;
      drain(spark);
      return new Measured(seconds, buildSeconds, listener.finish());
    } finally {
      spark.sparkContext().clearJobGroup();
    }
  }

  /**
   * Compares every plan's output with lakeforge's as an order-independent fingerprint (row count
   * and two sums of 64-bit row hashes), one untimed pass per plan. Plans that went over the cap are
   * not recomputed.
   */
  private static Map<String, String> checkOutputs(
      SparkSession spark,
      List<Plan> plans,
      Map<String, List<Measured>> runs,
      Set<String> capped,
      Inputs in) {
    Map<String, String> result = new LinkedHashMap<>();
    List<Row> reference = fingerprint(lakeforge(in));
    for (Plan p : plans) {
      if (runs.get(p.name()).isEmpty()) {
        result.put(p.name(), "not run");
      } else if (p.name().equals(SCAN)) {
        result.put(p.name(), "not a join (reads both inputs only)");
      } else if (capped.contains(p.name())) {
        result.put(p.name(), "not checked (over cap)");
      } else {
        progress("checking " + p.name());
        result.put(
            p.name(), fingerprint(p.build().apply(in)).equals(reference) ? "identical" : "DIFFERS");
      }
    }
    return result;
  }

  private static List<Row> fingerprint(Dataset<Row> out) {
    Column[] cols =
        Arrays.stream(new String[] {"spine_id", "entity_id", "ts", "label", "f_amount", "f_count"})
            .map(c -> col(c))
            .toArray(Column[]::new);
    return out.agg(
            count(lit(1)),
            sum(xxhash64(cols).cast(DataTypes.createDecimalType(38, 0))),
            sum(hash(cols).cast(DataTypes.LongType)))
        .collectAsList();
  }

  private static String table(
      Shape shape,
      List<Plan> plans,
      Map<String, List<Measured>> runs,
      Set<String> capped,
      Set<String> skip,
      Map<String, String> outputs) {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "Shape %s: %,d entities, %,d spine rows, %,d feature rows (%,d per entity)%n%n",
            shape.name(),
            shape.entities(),
            shape.spineRows(),
            shape.featureRows(),
            shape.featureRows() / shape.entities()));
    out.append(
        "| plan | runs | median s | range s | of which building s | task CPU s, median |"
            + " feast-style / plan | window / plan |"
            + " peak exec mem, max task | peak exec mem, sum of tasks | shuffle written |"
            + " rows shuffled | spill mem / disk | output |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    Double feast = median(runs.get("feast-style"));
    Double window = median(runs.get("window"));
    for (Plan p : plans) {
      List<Measured> r = runs.get(p.name());
      if (r.isEmpty()) {
        out.append(
            String.format(
                "| %s | 0 | — | — | — | — | — | — | — | — | — | — | — | %s |%n",
                p.name(),
                skip.contains(p.name() + ":" + shape.name()) ? "skipped (--skip)" : "not run"));
        continue;
      }
      double med = median(r);
      double buildMedian = median(r.stream().mapToDouble(Measured::buildSeconds));
      double cpuMedian = median(r.stream().mapToDouble(x -> x.metrics().cpuNanos() / 1e9));
      double lo = r.stream().mapToDouble(Measured::seconds).min().orElseThrow();
      double hi = r.stream().mapToDouble(Measured::seconds).max().orElseThrow();
      Metrics m = r.get(r.size() - 1).metrics();
      long maxPeak =
          r.stream().mapToLong(x -> x.metrics().maxTaskPeakExecutionMemory()).max().orElse(0);
      long spillMem = r.stream().mapToLong(x -> x.metrics().memoryBytesSpilled()).max().orElse(0);
      long spillDisk = r.stream().mapToLong(x -> x.metrics().diskBytesSpilled()).max().orElse(0);
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %d%s | %.2f | %.2f–%.2f | %.2f | %.2f | %s | %s | %s | %s | %s | %,d | %s / %s |"
                  + " %s |%n",
              p.name(),
              r.size(),
              capped.contains(p.name()) ? " (capped)" : "",
              med,
              lo,
              hi,
              buildMedian,
              cpuMedian,
              feast == null ? "—" : String.format(Locale.ROOT, "%.2f", feast / med),
              window == null ? "—" : String.format(Locale.ROOT, "%.2f", window / med),
              mib(maxPeak),
              mib(m.sumTaskPeakExecutionMemory()),
              mib(m.shuffleBytesWritten()),
              m.shuffleRecordsWritten(),
              mib(spillMem),
              mib(spillDisk),
              outputs.get(p.name())));
    }
    for (String name : List.of("lakeforge", "lakeforge+buckets")) {
      List<Measured> r = runs.get(name);
      if (r == null || r.isEmpty()) {
        continue;
      }
      Metrics last = r.get(r.size() - 1).metrics();
      long shuffled = last.largestStageShuffleRecords() - shape.spineRows();
      if (shuffled < 0) {
        out.append(
            String.format(
                Locale.ROOT,
                "%n%s: no shuffle (the feature rows spine rows can see were gathered on the"
                    + " driver, %,d rows shuffled in all); %,d input rows read over all its jobs%n",
                name,
                last.shuffleRecordsWritten(),
                last.inputRecords()));
        continue;
      }
      out.append(
          String.format(
              Locale.ROOT,
              "%n%s: the union's shuffle carried %,d feature rows of %,d in the table (%.1f %%)"
                  + " besides the %,d spine rows; %,d input rows read over all its jobs%n",
              name,
              shuffled,
              shape.featureRows(),
              100.0 * shuffled / shape.featureRows(),
              shape.spineRows(),
              last.inputRecords()));
    }
    out.append('\n');
    return out.toString();
  }

  private static void drain(SparkSession spark) {
    try {
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("Spark's listener bus did not drain in time", e);
    }
  }

  private static Double median(List<Measured> runs) {
    if (runs == null || runs.isEmpty()) {
      return null;
    }
    return median(runs.stream().mapToDouble(Measured::seconds));
  }

  private static double median(java.util.stream.DoubleStream values) {
    double[] s = values.sorted().toArray();
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
  }

  private static void progress(String line) {
    System.err.println("[asof] " + line);
  }

  /**
   * Feature rows: entity = id mod E, evenly spread over 90 days with a jitter (unique times per
   * entity); spine rows: a random entity at a random time in the same 90 days.
   */
  static Inputs generate(SparkSession spark, Path dir, Shape shape) {
    long perEntity = Math.max(1, shape.featureRows() / shape.entities());
    long step = HISTORY_MICROS / perEntity;
    long t0 = T0.getEpochSecond() * 1_000_000L;
    Column id = col("id");
    Column h = xxhash64(id, lit(7));
    spark
        .range(shape.featureRows())
        .select(
            pmod(id, lit(shape.entities())).as("entity_id"),
            timestamp_micros(
                    lit(t0)
                        .plus(id.divide(shape.entities()).cast(DataTypes.LongType).multiply(step))
                        .plus(pmod(h, lit(step))))
                .as("feature_ts"),
            when(pmod(h, lit(13)).equalTo(0), lit(null))
                .otherwise(pmod(h, lit(1_000_000)).divide(100.0))
                .as("f_amount"),
            abs(hash(id, lit(2))).mod(1000).cast(DataTypes.LongType).as("f_count"))
        .write()
        .parquet(dir.resolve("features").toString());
    spark
        .range(shape.spineRows())
        .select(
            id.as("spine_id"),
            pmod(xxhash64(id, lit(3)), lit(shape.entities())).as("entity_id"),
            timestamp_micros(lit(t0).plus(pmod(xxhash64(id, lit(4)), lit(HISTORY_MICROS))))
                .as("ts"),
            pmod(id, lit(2)).cast(DataTypes.IntegerType).as("label"))
        .write()
        .parquet(dir.resolve("spine").toString());
    return new Inputs(
        spark.read().parquet(dir.resolve("spine").toString()),
        spark.read().parquet(dir.resolve("features").toString()));
  }

  static Dataset<Row> lakeforge(Inputs in) {
    return join(in, false);
  }

  static Dataset<Row> lakeforgeBucketed(Inputs in) {
    return join(in, true, PointInTimeJoin.BROADCAST_SPINE_ROWS);
  }

  /** The path a spine too large to broadcast its times takes: the Bloom filter of its slots. */
  static Dataset<Row> lakeforgeBloom(Inputs in) {
    return join(in, false, 0);
  }

  private static Dataset<Row> join(Inputs in, boolean buckets) {
    return join(in, buckets, PointInTimeJoin.BROADCAST_SPINE_ROWS);
  }

  private static Dataset<Row> join(Inputs in, boolean buckets, long broadcastSpineRows) {
    PointInTimeJoin.Builder b =
        PointInTimeJoin.builder(new Spine("spine", in.spine(), List.of("entity_id"), "ts"))
            .add(
                FeatureSource.of(
                    "features",
                    in.features(),
                    List.of("entity_id"),
                    "feature_ts",
                    TTL,
                    "f_amount",
                    "f_count"));
    if (buckets) {
      b.optTimeBuckets(TTL.multipliedBy(4));
    }
    return b.optBroadcastSpineRows(broadcastSpineRows).build().join();
  }

  /**
   * The floor under every plan: reads the spine and the feature columns every plan needs, with no
   * join, shuffle or sort. No plan that reads its inputs can beat it, so feast-style / scan bounds
   * the ratio any plan can reach on this machine.
   */
  static Dataset<Row> scan(Inputs in) {
    Dataset<Row> spine =
        in.spine()
            .select(
                col("spine_id"),
                col("entity_id"),
                col("ts"),
                col("label"),
                lit(null).cast(DataTypes.DoubleType).as("f_amount"),
                lit(null).cast(DataTypes.LongType).as("f_count"));
    Dataset<Row> features =
        in.features()
            .select(
                lit(null).cast(DataTypes.LongType).as("spine_id"),
                col("entity_id"),
                col("feature_ts").as("ts"),
                lit(null).cast(DataTypes.IntegerType).as("label"),
                col("f_amount"),
                col("f_count"));
    return spine.unionByName(features);
  }

  /**
   * Feast's Spark offline store: join on the keys with feature_ts in [ts - ttl, ts], keep the
   * latest per spine row with row_number(), join back to the spine.
   */
  static Dataset<Row> feastStyle(Inputs in) {
    Dataset<Row> s = in.spine().as("s");
    Dataset<Row> f = in.features().as("f");
    Column lower = timestamp_micros(unix_micros(col("s.ts")).minus(TTL_MICROS));
    WindowSpec latest = Window.partitionBy(col("s.spine_id")).orderBy(col("f.feature_ts").desc());
    Dataset<Row> matched =
        s.join(
                f,
                col("s.entity_id")
                    .equalTo(col("f.entity_id"))
                    .and(col("f.feature_ts").leq(col("s.ts")))
                    .and(col("f.feature_ts").geq(lower)))
            .select(
                col("s.spine_id").as("m_id"),
                col("f.f_amount"),
                col("f.f_count"),
                row_number().over(latest).as("rn"))
            .where(col("rn").equalTo(1))
            .drop("rn");
    return in.spine()
        .join(matched, in.spine().col("spine_id").equalTo(matched.col("m_id")), "left")
        .select("spine_id", "entity_id", "ts", "label", "f_amount", "f_count");
  }

  /**
   * Tempo's plan: union spine and feature rows, last(struct, ignoreNulls) over a window by entity
   * ordered by time (features first at equal times), keep the spine rows, apply the ttl.
   */
  static Dataset<Row> window(Inputs in) {
    Dataset<Row> spine =
        in.spine()
            .select(
                col("entity_id"),
                col("ts").as("t"),
                lit(1).as("kind"),
                struct("spine_id", "ts", "label").as("s"),
                lit(null)
                    .cast("struct<feature_ts:timestamp,f_amount:double,f_count:bigint>")
                    .as("f"));
    Dataset<Row> features =
        in.features()
            .select(
                col("entity_id"),
                col("feature_ts").as("t"),
                lit(0).as("kind"),
                lit(null).cast("struct<spine_id:bigint,ts:timestamp,label:int>").as("s"),
                struct("feature_ts", "f_amount", "f_count").as("f"));
    WindowSpec w =
        Window.partitionBy("entity_id")
            .orderBy("t", "kind")
            .rowsBetween(Window.unboundedPreceding(), Window.currentRow());
    Column valid =
        unix_micros(col("last.feature_ts")).geq(unix_micros(col("s.ts")).minus(TTL_MICROS));
    return spine
        .unionByName(features)
        .withColumn("last", last(col("f"), true).over(w))
        .where(col("kind").equalTo(1))
        .select(
            col("s.spine_id").as("spine_id"),
            col("entity_id"),
            col("s.ts").as("ts"),
            col("s.label").as("label"),
            when(valid, col("last.f_amount")).as("f_amount"),
            when(valid, col("last.f_count")).as("f_count"));
  }
}
