package dev.lakeforge.bench;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.hash;
import static org.apache.spark.sql.functions.last;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.struct;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
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
 * plan, on the same generated data, in one JVM, timed after a warm-up, outputs checked identical.
 * Entry point of {@code bench/asof}; prints a Markdown table on stdout.
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
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--spine" -> spineRows = Long.parseLong(args[i + 1].replace("_", ""));
        case "--features" -> featureRows = Long.parseLong(args[i + 1].replace("_", ""));
        case "--shapes" -> shapes = args[i + 1];
        default ->
            throw new IllegalArgumentException(
                "Unknown option '"
                    + args[i]
                    + "': valid options are --spine, --features, --shapes.");
      }
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
    try {
      List<Plan> plans =
          List.of(
              new Plan("lakeforge", AsOfBench::lakeforge),
              new Plan("lakeforge+buckets", AsOfBench::lakeforgeBucketed),
              new Plan("feast-style", AsOfBench::feastStyle),
              new Plan("window", AsOfBench::window));
      progress("warm-up on 10,000 x 100,000 rows");
      Inputs warm =
          generate(spark, work.resolve("warm"), new Shape("warm", 10_000, 100_000, 1_000));
      for (Plan p : plans) {
        time(p.build().apply(warm));
      }
      StringBuilder out = new StringBuilder();
      out.append(
          "| shape | entities | spine rows | feature rows | lakeforge s | lakeforge+buckets s |"
              + " feast-style s | window s | feast/lakeforge | window/lakeforge | outputs |\n");
      out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
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
        Inputs in = generate(spark, work.resolve("shape-" + shape.name()), shape);
        Map<String, Double> seconds = new LinkedHashMap<>();
        for (Plan p : plans) {
          progress("shape " + shape + ": " + p.name());
          seconds.put(p.name(), time(p.build().apply(in)));
          progress(String.format(Locale.ROOT, "  %.1f s", seconds.get(p.name())));
        }
        Dataset<Row> reference = lakeforge(in);
        List<String> differ = new ArrayList<>();
        for (Plan p : plans.subList(1, plans.size())) {
          Dataset<Row> other = p.build().apply(in);
          if (reference.exceptAll(other).count() != 0 || other.exceptAll(reference).count() != 0) {
            differ.add(p.name());
          }
        }
        double a = seconds.get("lakeforge");
        out.append(
            String.format(
                Locale.ROOT,
                "| %s | %,d | %,d | %,d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %s |%n",
                shape.name(),
                shape.entities(),
                shape.spineRows(),
                shape.featureRows(),
                a,
                seconds.get("lakeforge+buckets"),
                seconds.get("feast-style"),
                seconds.get("window"),
                seconds.get("feast-style") / a,
                seconds.get("window") / a,
                differ.isEmpty() ? "identical" : "DIFFER: " + differ));
      }
      report.print(out);
      report.flush();
    } finally {
      spark.stop();
    }
  }

  private static void progress(String line) {
    System.err.println("[asof] " + line);
  }

  /** Runs the plan to the end (noop sink) and returns the seconds it took. */
  private static double time(Dataset<Row> plan) {
    long start = System.nanoTime();
    plan.write().format("noop").mode("overwrite").save();
    return (System.nanoTime() - start) / 1e9;
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
    return join(in, true);
  }

  private static Dataset<Row> join(Inputs in, boolean buckets) {
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
    return b.build().join();
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
