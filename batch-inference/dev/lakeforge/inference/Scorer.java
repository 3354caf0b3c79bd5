package dev.lakeforge.inference;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelRegistry;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.core.Platform;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores DataFrames with a registered model: a lazy transform that composes with any DataFrame
 * pipeline.
 *
 * <pre>{@code
 * Dataset<Row> scored =
 *     Scorer.of(
 *             ModelRef.parse("churn@champion"),
 *             Mappings.builder()
 *                 .input("input", InputMapping.tabular(NullPolicy.MEAN, "days_since_last", "orders_7d"))
 *                 .output("probability", OutputMapping.element("output", 1))
 *                 .build())
 *         .batchSize(1024)
 *         .transform(customers);
 * }</pre>
 *
 * <p>{@link #transform} runs on the driver of a Lakeforge session: it checks that the session's
 * principal holds EXECUTE on the model (audited), resolves the reference to a version (an alias is
 * followed once, then fixed for this DataFrame), and checks the mappings against the model's
 * signature and the DataFrame's schema, so a mistake fails before any Spark job runs. Only {@code
 * nulls: mean} runs a job at that point: one aggregate for the means. It also decides where the
 * model runs ({@link Placement}: {@code device: cuda} without the GPU build or Spark's GPU settings
 * fails here). The executors then load the model once per JVM and device ({@link ModelCache}) and
 * score each partition in batches of {@link #batchSize}. Scorers are immutable; the setters return
 * a copy.
 */
public final class Scorer {
  private static final Logger LOG = LoggerFactory.getLogger(Scorer.class);

  private final ModelRef model;
  private final Mappings mappings;
  private final RuntimeOptions runtime;
  private final List<String> keys;

  private Scorer(ModelRef model, Mappings mappings, RuntimeOptions runtime, List<String> keys) {
    this.model = Objects.requireNonNull(model, "model is null");
    this.mappings = Objects.requireNonNull(mappings, "mappings is null");
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.keys = List.copyOf(keys);
  }

  private Scorer(ModelRef model, Mappings mappings, RuntimeOptions runtime) {
    this(model, mappings, runtime, List.of());
  }

  /** A scorer for {@code model} ({@code name/version} or {@code name@alias}) with the defaults. */
  public static Scorer of(ModelRef model, Mappings mappings) {
    return new Scorer(model, mappings, RuntimeOptions.DEFAULTS);
  }

  /**
   * The columns that identify an input row, named with their values in row-level errors (a text too
   * long to score...); without them, such errors name the row's position in its partition.
   */
  public Scorer keys(String... columns) {
    return new Scorer(model, mappings, runtime, List.of(columns));
  }

  /** Rows per model call (default {@value RuntimeOptions#BATCH_SIZE_DEFAULT}). */
  public Scorer batchSize(int rows) {
    return new Scorer(model, mappings, runtime.withBatchSize(rows), keys);
  }

  /**
   * Whether text rows are sorted by token length within a bounded window before batching (default
   * on; see {@link RuntimeOptions#bucketing()}).
   */
  public Scorer bucketing(boolean on) {
    return new Scorer(model, mappings, runtime.withBucketing(on), keys);
  }

  /**
   * ONNX Runtime intra-op threads per loaded model (default {@value
   * RuntimeOptions#THREADS_DEFAULT}).
   */
  public Scorer threads(int n) {
    return new Scorer(model, mappings, runtime.withThreads(n), keys);
  }

  /** Where the model runs (default auto). */
  public Scorer device(Device device) {
    return new Scorer(model, mappings, runtime.withDevice(device), keys);
  }

  /** All runtime options at once (a job spec's {@code runtime:}). */
  public Scorer runtime(RuntimeOptions options) {
    return new Scorer(model, mappings, options, keys);
  }

  public RuntimeOptions runtime() {
    return runtime;
  }

  /**
   * {@code input} with the output columns appended; lazy (see the class comment for the checks).
   */
  public Dataset<Row> transform(Dataset<Row> input) {
    return prepare(input).output();
  }

  /** Like {@link #transform}, also returning the resolved model and the metrics of the scoring. */
  public Scoring prepare(Dataset<Row> input) {
    return prepare(input, input);
  }

  /**
   * Like {@link #prepare(Dataset)}, with {@code nulls: mean} filled from the means over {@code
   * population} (e.g. the whole input table, while {@code input} is the part still to score).
   */
  Scoring prepare(Dataset<Row> input, Dataset<Row> population) {
    SparkSession spark = input.sparkSession();
    Platform platform = Platform.of(spark);
    CatalogDatabase db = CatalogDatabase.of(platform);
    Principal who =
        AccessControl.sessionPrincipal(db, spark.conf().get(Principal.SPARK_CONF, null));
    ModelRegistry registry =
        ModelRegistry.of(db, platform, spark.sparkContext().hadoopConfiguration());
    ModelVersion version = registry.resolve(model, who);
    Placement placement =
        Placement.of(
            runtime.device(),
            version.ref().toString(),
            version.flavor(),
            spark.sparkContext().conf());
    if (!placement.note().isEmpty()) {
      LOG.info("Model {}: {}", version.ref(), placement.note());
    }
    RuntimeOptions resolved = runtime.withDevice(placement.device());
    ModelSpec spec = ModelSpec.of(version, resolved.device());
    InferenceEngine.forFlavor(spec.flavor(), spec.toString());
    ScoringPlan plan =
        ScoringPlan.compile(
            spec,
            version.signature(),
            mappings,
            input.schema(),
            resolved,
            files(registry, version),
            keys,
            columns -> means(spark, population, spec, columns));
    Broadcast<SerializableConfiguration> hadoop =
        spark
            .sparkContext()
            .broadcast(
                new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()),
                scala.reflect.ClassTag$.MODULE$.apply(SerializableConfiguration.class));
    return new Scoring(
        input, plan, hadoop, spec, placement, ScoringMetrics.register(spark.sparkContext(), spec));
  }

  /**
   * The names of the version's files when a text input needs its tokenizer (read from the version's
   * manifest); otherwise not read.
   */
  private List<String> files(ModelRegistry registry, ModelVersion version) {
    if (mappings.inputs().values().stream().noneMatch(m -> m instanceof InputMapping.Text)) {
      return List.of();
    }
    return registry.files(version).stream().map(dev.lakeforge.catalog.ModelFile::name).toList();
  }

  /** The means of {@code columns} over {@code input}, computed in one aggregate query. */
  private static Map<String, Double> means(
      SparkSession spark, Dataset<Row> input, ModelSpec model, List<String> columns) {
    List<Column> aggs = new ArrayList<>();
    for (String c : columns) {
      aggs.add(functions.avg(functions.col("`" + c.replace("`", "``") + "`").cast("double")));
    }
    spark.sparkContext().setJobDescription("lakeforge: column means for model " + model);
    Row row;
    try {
      row = input.agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new)).first();
    } finally {
      spark.sparkContext().setJobDescription(null);
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (int i = 0; i < columns.size(); i++) {
      out.put(columns.get(i), row.isNullAt(i) ? null : row.getDouble(i));
    }
    LOG.info("Model {}: null fill means {}", model, out);
    return out;
  }
}
