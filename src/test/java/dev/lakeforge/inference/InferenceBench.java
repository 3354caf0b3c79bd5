package dev.lakeforge.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.lakeforge.bench.BenchFiles;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Batch inference throughput with a tiny tabular model (a Tribuo logistic regression exported to
 * ONNX), in one process, on the same generated Delta table, rows/s for:
 *
 * <ul>
 *   <li>(a) ONNX Runtime alone, no Spark: the same rows in batches of the same size, same threads;
 *   <li>(b) {@link InferenceJob} (what {@code lakeforge infer} runs) into a new Delta table;
 *   <li>(c) a naive per-row Spark UDF that loads the model lazily once per JVM, into a Delta table
 *       (on the first {@code --udf-rows} rows: it is slow);
 *   <li>(d) the job of (b) with the model replaced by a no-op ONNX graph of the same output shape
 *       (one Slice): the pipeline's own limit;
 *   <li>(e) the scoring of (b) ({@link Scorer#transform}) into Spark's {@code noop} sink: scoring
 *       without the table write.
 * </ul>
 *
 * <p>The first round is an untimed warm-up (class loading, code generation, Delta log reading); the
 * variants' order rotates between rounds. Medians as a Markdown report on stdout, progress on
 * stderr. Usage: {@code bench/infer [--rows N] [--udf-rows N] [--repeats N] [--batch-size N]}.
 */
public final class InferenceBench {
  private final SparkSession spark;
  private final Lakehouse lh;
  private final Path onnx;
  private final int batchSize;
  private final List<String> features;
  private final int churnIndex;
  private int round;

  private InferenceBench(
      SparkSession spark, Path onnx, List<String> features, int churnIndex, int batchSize) {
    this.spark = spark;
    this.lh = Lakehouse.open(spark);
    this.onnx = onnx;
    this.features = features;
    this.churnIndex = churnIndex;
    this.batchSize = batchSize;
  }

  /** The value of feature {@code f} of row {@code id}, as the input table holds it. */
  private static double value(String f, long id) {
    return switch (f) {
      case "orders_7d" -> (id * 7) % 10;
      case "spend_30d" -> (id % 500) / 10.0;
      case "days_since_last" -> id % 60;
      default -> throw new IllegalArgumentException(f);
    };
  }

  private void createInput(long rows) throws Exception {
    TableSpec spec =
        dev.lakeforge.core.YamlSpecReader.parse(
            """
            name: bench.customers
            format: delta
            columns:
              - {name: customer_id, type: bigint}
              - {name: orders_7d, type: int}
              - {name: spend_30d, type: double}
              - {name: days_since_last, type: bigint}
            """,
            TableSpec.class,
            "bench input");
    new ApplyTablesJob(List.of(spec)).run(spark);
    spark
        .range(rows)
        .selectExpr(
            "id AS customer_id",
            "CAST((id * 7) % 10 AS INT) AS orders_7d",
            "(id % 500) / 10.0 AS spend_30d",
            "id % 60 AS days_since_last")
        .repartition(4)
        .writeTo(lh.sqlName(lh.spec(spec.name())))
        .append();
  }

  private InferenceJobSpec job(String model, String output) {
    return InferenceJobSpec.parse(
        """
        name: bench_%s
        model: %s
        input: {table: bench.customers, keys: [customer_id]}
        inputs:
          input: {columns: [%s], nulls: zero}
        outputs:
          probability: {from: output, index: %d}
        output: {table: %s}
        runtime: {batch-size: %d, threads: 1}
        """
            .formatted(
                output.replace('.', '_'),
                model,
                String.join(", ", features),
                churnIndex,
                output,
                batchSize),
        "bench job");
  }

  /** (a): rows/s of ONNX Runtime alone over the same rows. */
  private double raw(long rows) throws OrtException {
    int n = features.size();
    float[] all = new float[Math.toIntExact(rows * n)];
    for (long id = 0; id < rows; id++) {
      for (int j = 0; j < n; j++) {
        all[(int) (id * n + j)] = (float) value(features.get(j), id);
      }
    }
    OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      so.setInterOpNumThreads(1);
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession session = env.createSession(onnx.toString(), so)) {
        FloatBuffer buf = FloatBuffer.allocate(batchSize * n);
        long t0 = System.nanoTime();
        double sum = 0;
        for (long start = 0; start < rows; start += batchSize) {
          int b = (int) Math.min(batchSize, rows - start);
          buf.clear();
          buf.put(all, (int) (start * n), b * n).flip();
          try (OnnxTensor in = OnnxTensor.createTensor(env, buf, new long[] {b, n});
              OrtSession.Result r = session.run(Map.of("input", in))) {
            float[][] p = (float[][]) r.get(0).getValue();
            sum += p[0][churnIndex];
          }
        }
        long took = System.nanoTime() - t0;
        if (Double.isNaN(sum)) {
          throw new IllegalStateException("NaN prediction");
        }
        return rows / (took / 1e9);
      }
    }
  }

  /** (b) and (d): rows/s of the job, model load and loads per executor. */
  private double job(String model, long rows, Map<String, Object> notes) {
    InferenceJob.Result r =
        new InferenceJob(job(model, "bench.out_" + model.replaceAll("\\W", "_") + "_" + round))
            .run(spark);
    if (r.rowsScored() != rows) {
      throw new IllegalStateException("scored " + r.rowsScored() + " of " + rows);
    }
    notes.put(model + " commits per run", r.commits());
    notes.put(model + " time by phase (last run)", r.phases());
    return r.rowsPerSecond();
  }

  /** (c): a per-row UDF over the first {@code rows} rows into a new Delta table. */
  private double udf(long rows, Path out) throws Exception {
    UserDefinedFunction score =
        functions.udf(new PerRowUdf(onnx.toString(), churnIndex), DataTypes.FloatType);
    Dataset<Row> in =
        spark.table(lh.sqlName(lh.spec(dev.lakeforge.core.TableName.parse("bench.customers"))));
    List<org.apache.spark.sql.Column> args = new ArrayList<>();
    for (String f : features) {
      args.add(functions.col(f).cast("float"));
    }
    long t0 = System.nanoTime();
    // a plain Delta folder, as a user's own UDF job would write (not a Lakeforge table)
    dev.lakeforge.lakehouse.access.AccessScope.internal(
        () ->
            in.where(functions.col("customer_id").lt(rows))
                .select(
                    functions.col("customer_id"),
                    score.apply(args.toArray(org.apache.spark.sql.Column[]::new)).as("probability"))
                .write()
                .format("delta")
                .save(out.resolve("udf_" + round).toString()));
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /** (e): the job's scoring into the noop sink. */
  private double noopSink(long rows) {
    InferenceJobSpec spec = job("churn/1", "bench.unused");
    Dataset<Row> in =
        spark.table(lh.sqlName(lh.spec(dev.lakeforge.core.TableName.parse("bench.customers"))));
    long t0 = System.nanoTime();
    Scoring s = Scorer.of(spec.model(), spec.mappings()).runtime(spec.runtime()).prepare(in);
    s.output().select("customer_id", "probability").write().format("noop").mode("overwrite").save();
    if (s.metrics().rows() != rows) {
      throw new IllegalStateException("scored " + s.metrics().rows() + " of " + rows);
    }
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * (f): the same columns read into the noop sink without scoring: Spark's own limit for (e) on
   * this machine.
   */
  private double readOnly(long rows) {
    Dataset<Row> in =
        spark.table(lh.sqlName(lh.spec(dev.lakeforge.core.TableName.parse("bench.customers"))));
    long t0 = System.nanoTime();
    dev.lakeforge.lakehouse.access.AccessScope.internal(
        () -> in.write().format("noop").mode("overwrite").save());
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /** The per-row UDF of (c): the model loaded lazily once per JVM, one model call per row. */
  static final class PerRowUdf implements UDF3<Float, Float, Float, Float> {
    private static final long serialVersionUID = 1L;
    private final String path;
    private final int index;

    PerRowUdf(String path, int index) {
      this.path = path;
      this.index = index;
    }

    @Override
    public Float call(Float a, Float b, Float c) throws Exception {
      OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
      float[] x = {
        a == null ? 0 : a, b == null ? 0 : b, c == null ? 0 : c,
      };
      try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 3});
          OrtSession.Result r = BenchRounds.session(path).run(Map.of("input", in))) {
        return ((float[][]) r.get(0).getValue())[0][index];
      }
    }
  }

  public static void main(String[] args) throws Exception {
    List<String> rest = new ArrayList<>(List.of(args));
    int m = rest.indexOf("--model");
    if (m >= 0) {
      if (m + 1 >= rest.size()) {
        throw new IllegalArgumentException("--model needs a value: tabular, cnn or minilm.");
      }
      String model = rest.get(m + 1);
      rest.subList(m, m + 2).clear();
      switch (model) {
        case "tabular" -> args = rest.toArray(String[]::new);
        case "cnn", "minilm" -> {
          ComputeInferenceBench.main(model, rest.toArray(String[]::new));
          return;
        }
        default ->
            throw new IllegalArgumentException(
                "Unknown --model '" + model + "': use tabular (the default), cnn or minilm.");
      }
    }
    long rows = 2_000_000;
    long udfRows = 100_000;
    int repeats = 3;
    int batchSize = 512;
    String only = "abcdef";
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(args[i] + " needs a value, e.g. " + args[i] + " 3.");
      }
      if (args[i].equals("--variants")) {
        only = args[i + 1];
        continue;
      }
      long v = Long.parseLong(args[i + 1]);
      switch (args[i]) {
        case "--rows" -> rows = v;
        case "--udf-rows" -> udfRows = v;
        case "--repeats" -> repeats = (int) v;
        case "--batch-size" -> batchSize = (int) v;
        default ->
            throw new IllegalArgumentException(
                "Unknown option '"
                    + args[i]
                    + "': valid options are --model, --rows, --udf-rows, --repeats, --batch-size and"
                    + " --variants (letters, e.g. ae).");
      }
    }
    udfRows = Math.min(udfRows, rows);
    PrintStream report = System.out;
    System.setOut(System.err);
    Path work = Files.createTempDirectory("lakeforge-infer-bench-");
    try {
      PlatformConfig config = PlatformConfig.defaults();
      SparkSession spark =
          SessionFactory.getOrCreate(
              config, Platform.resolve(config, work.resolve("home")), Map.of());
      TestModels.Churn churn = TestModels.trainChurn(work.resolve("models"), 500);
      TestModels.register(spark, "churn", churn.onnx());
      TestModels.register(
          spark,
          "noop",
          TestModels.writeNoopModel(work.resolve("noop"), churn.features().size(), 2));
      InferenceBench bench =
          new InferenceBench(
              spark, churn.onnx(), churn.features(), churn.index("churns"), batchSize);
      System.err.printf("generating %d rows%n", rows);
      bench.createInput(rows);
      final long n = rows;
      final long u = udfRows;
      Map<String, Object> notes = new LinkedHashMap<>();
      List<BenchRounds.Variant> variants = new ArrayList<>();
      variants.add(
          new BenchRounds.Variant(
              'a', "(a) ONNX Runtime alone", BenchRounds.unchecked(() -> bench.raw(n))));
      variants.add(
          new BenchRounds.Variant(
              'b', "(b) Lakeforge job → Delta", () -> bench.job("churn/1", n, notes)));
      variants.add(
          new BenchRounds.Variant(
              'c',
              "(c) per-row UDF → Delta",
              BenchRounds.unchecked(() -> bench.udf(u, work.resolve("udf")))));
      variants.add(
          new BenchRounds.Variant(
              'd', "(d) job, no-op model → Delta", () -> bench.job("noop/1", n, notes)));
      variants.add(
          new BenchRounds.Variant('e', "(e) scoring → noop sink", () -> bench.noopSink(n)));
      variants.add(
          new BenchRounds.Variant(
              'f', "(f) read → noop sink, no scoring", () -> bench.readOnly(n)));
      final String chosen = only;
      variants.removeIf(v -> chosen.indexOf(v.letter()) < 0);
      Map<Character, Double> median = BenchRounds.medians(variants, repeats, r -> bench.round = r);
      report.printf(
          "Tiny tabular model (Tribuo logistic regression, 3 features → 2 classes), %d rows,"
              + " batch %d, 1 ONNX Runtime thread per model, Spark local[%d]; median of %d rounds"
              + " after a warm-up; (c) on the first %d rows.%n%n",
          rows, batchSize, spark.sparkContext().defaultParallelism(), repeats, udfRows);
      report.println("| variant | rows/s |");
      report.println("|---|---:|");
      for (BenchRounds.Variant v : variants) {
        report.printf(Locale.ROOT, "| %s | %,.0f |%n", v.name(), median.get(v.letter()));
      }
      report.println();
      BenchRounds.ratio(report, median, 'b', 'a', "%.2f");
      BenchRounds.ratio(report, median, 'b', 'd', "%.2f (target ≥ 0.8)");
      BenchRounds.ratio(report, median, 'b', 'c', "%.1f (target ≥ 3)");
      Double e = median.get('e');
      if (e != null) {
        report.printf(Locale.ROOT, "- (e) = %,.0f rows/s (target ≥ 3,000,000)%n", e);
      }
      BenchRounds.ratio(report, median, 'e', 'f', "%.2f (scoring against reading alone)");
      notes.forEach((k, v) -> report.printf("- %s: %s%n", k, v));
      for (var key : ModelCache.loaded()) {
        report.printf(
            "- model %s loaded %d time(s) in this JVM (the driver: local mode) over all %d runs%n",
            key, ModelCache.loads(key), repeats + 1);
      }
      spark.stop();
    } finally {
      BenchFiles.deleteRecursively(work);
    }
  }
}
