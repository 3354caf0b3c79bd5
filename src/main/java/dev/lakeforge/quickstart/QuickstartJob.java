package dev.lakeforge.quickstart;

import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.Lineage;
import dev.lakeforge.catalog.ModelFlavor;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelRegistry;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.features.ApplyFeatureSetsJob;
import dev.lakeforge.features.FeatureMaterializeJob;
import dev.lakeforge.features.FeatureSetDefinition;
import dev.lakeforge.features.TrainingSetJob;
import dev.lakeforge.features.TrainingSetSpec;
import dev.lakeforge.inference.InferenceJob;
import dev.lakeforge.inference.InferenceJobSpec;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.IngestJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.SourceFormat;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableInfo;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.lakehouse.TableSpecs;
import dev.lakeforge.lakehouse.WriteMode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quickstart: writes the synthetic shop ({@link ShopData}) as raw files under the home's {@code
 * raw/}, applies the table specs, and ingests the raw files into Delta and Iceberg tables with
 * batch ids. Then the churn example end to end:
 *
 * <ol>
 *   <li>registers the feature set {@code customer_activity} and materializes it daily over the
 *       whole order history;
 *   <li>writes the labelled spine {@code shop.churn_spine} (every customer at weekly as-of times:
 *       did they order again within {@value #LABEL_DAYS} days?) and builds the training set {@code
 *       training.churn} from it;
 *   <li>trains a logistic regression on the training set (Tribuo), exports it to ONNX and registers
 *       it as the scoring job's model ({@code churn}) with its alias ({@code champion}), recorded
 *       as a run from the training set to the model version;
 *   <li>scores every customer's latest features with the job {@code score_customers} into {@code
 *       predictions.churn_scores}.
 * </ol>
 *
 * A re-run writes nothing new: the ingests and the materialization skip their committed batches,
 * the spine is only written when empty, the training set job writes nothing when the table is
 * already its build from the same spec and input versions, the model is only registered when its
 * sha256 differs from the alias's version, and the scoring job scores only customers without a
 * prediction of that version.
 *
 * @param data what to generate
 * @param specs the folder of table specs to apply; empty uses the shop specs bundled in the jar
 * @param conf the folder that holds {@code features/}, {@code training/} and {@code jobs/}; a spec
 *     missing there (or an empty folder) is read from the copy bundled in the jar
 */
public record QuickstartJob(
    ShopData data, Optional<Path> specs, Optional<Path> conf, boolean churnExample) {
  static final TableName CUSTOMERS = TableName.parse("shop.customers");
  static final TableName PRODUCTS = TableName.parse("shop.products");
  static final TableName ORDERS = TableName.parse("shop.orders");
  static final TableName SPINE = TableName.parse("shop.churn_spine");

  /** The feature-set spec, relative to {@link #conf}. */
  static final String FEATURE_SET_SPEC = "features/customer_activity.yaml";

  /** The training-set spec, relative to {@link #conf}. */
  static final String TRAINING_SET_SPEC = "training/churn.yaml";

  /** The scoring job's spec, relative to {@link #conf}. */
  static final String SCORING_JOB_SPEC = "jobs/score_customers.yaml";

  /** The model input of the churn model (Tribuo's ONNX export names it so). */
  static final String MODEL_INPUT = "input";

  /** The job name of the recorded run that trains and registers the model. */
  public static final String TRAIN_JOB = "quickstart.train";

  /** The spine's label: 1 when the customer ordered within this many days after the as-of time. */
  static final int LABEL_DAYS = 14;

  private static final List<String> BUNDLED =
      List.of(
          "shop_customers.yaml", "shop_products.yaml", "shop_orders.yaml", "shop_churn_spine.yaml");
  private static final Logger LOG = LoggerFactory.getLogger(QuickstartJob.class);

  public QuickstartJob {
    java.util.Objects.requireNonNull(data, "data is null");
    java.util.Objects.requireNonNull(specs, "specs is null");
    java.util.Objects.requireNonNull(conf, "conf is null");
  }

  /** The whole quickstart: the shop, then the churn example. */
  public QuickstartJob(ShopData data, Optional<Path> specs, Optional<Path> conf) {
    this(data, specs, conf, true);
  }

  /** The same quickstart without the churn example (the shop's tables only). */
  public QuickstartJob shopOnly() {
    return new QuickstartJob(data, specs, conf, false);
  }

  /** One table the quickstart built. */
  public record BuiltTable(
      TableName table, TableFormat format, String sqlName, long rows, long version) {}

  /**
   * What the quickstart built.
   *
   * @param raw where the raw files are
   * @param tables the shop tables
   * @param batchesSkipped ingests skipped because their batch id was already committed (a re-run)
   * @param churn the churn example: features, training set, model and predictions; empty for {@link
   *     #shopOnly()}
   * @param duration wall time
   */
  public record Result(
      Path raw,
      List<BuiltTable> tables,
      int batchesSkipped,
      Optional<Churn> churn,
      Duration duration) {}

  /**
   * The churn example.
   *
   * @param featureTable the feature set's table
   * @param featureRows its rows
   * @param featuresUpToDate true when the materialization found the range already materialized
   * @param spineRows rows of {@code shop.churn_spine}
   * @param spineWritten true when this run wrote the spine (it was empty)
   * @param trainingSet the training-set table
   * @param trainingRows its rows (the spine's row count)
   * @param trainingSetBuilt true when this run rebuilt it (the spec or an input had changed)
   * @param model the model version the scoring job's alias points at
   * @param alias that alias
   * @param modelRegistered true when this run registered it
   * @param features the model's inputs, in its order
   * @param positiveShare the share of training rows with label 1 (ordered again)
   * @param predictions the scoring job's output table
   * @param customersScored prediction rows of {@code model} in it
   * @param rowsScored predictions this run wrote
   * @param highestRisk the customers with the highest churn probability, highest first
   * @param lineage the lineage of the predictions table, upstream, nearest first
   */
  public record Churn(
      TableName featureTable,
      long featureRows,
      boolean featuresUpToDate,
      long spineRows,
      boolean spineWritten,
      TableName trainingSet,
      long trainingRows,
      boolean trainingSetBuilt,
      ModelVersion model,
      String alias,
      boolean modelRegistered,
      List<String> features,
      double positiveShare,
      TableName predictions,
      long customersScored,
      long rowsScored,
      List<Prediction> highestRisk,
      List<Lineage.Edge> lineage) {}

  /** One prediction of the scoring job. */
  public record Prediction(long customerId, double probability, String label) {}

  public Result run(SparkSession spark) {
    long start = System.nanoTime();
    List<TableSpec> tableSpecs = loadSpecs();
    // every spec is read and validated before anything is written
    FeatureSetDefinition featureSet =
        FeatureSetDefinition.parse(text(FEATURE_SET_SPEC), source(FEATURE_SET_SPEC));
    TrainingSetSpec trainingSet =
        YamlSpecReader.parse(
            text(TRAINING_SET_SPEC), TrainingSetSpec.class, source(TRAINING_SET_SPEC));
    InferenceJobSpec scoring =
        InferenceJobSpec.parse(text(SCORING_JOB_SPEC), source(SCORING_JOB_SPEC));
    Platform platform = Platform.of(spark);
    Path raw = platform.home().resolve("raw");
    LOG.info(
        "Generating the shop: {} customers, {} products, {} orders under {}",
        data.customers(),
        data.products(),
        data.orders(),
        raw);
    ShopData.RawFiles files = data.writeRaw(spark, raw);
    new ApplyTablesJob(tableSpecs).run(spark);
    String batch = "quickstart-" + data.orders();
    List<IngestJob> ingests =
        List.of(
            IngestJob.builder(CUSTOMERS, files.customersCsv().toString(), SourceFormat.CSV)
                .optMode(WriteMode.MERGE)
                .optBatchId(batch + "-customers")
                .build(),
            IngestJob.builder(PRODUCTS, files.productsJson().toString(), SourceFormat.JSON)
                .optMode(WriteMode.MERGE)
                .optBatchId(batch + "-products")
                .build(),
            IngestJob.builder(ORDERS, files.ordersCsv().toString(), SourceFormat.CSV)
                .optMode(WriteMode.MERGE)
                .optBatchId(batch + "-orders")
                .build());
    int skipped = 0;
    for (IngestJob job : ingests) {
      if (job.run(spark).skipped()) {
        skipped++;
      }
    }
    List<BuiltTable> built = new ArrayList<>();
    for (TableName t : List.of(CUSTOMERS, PRODUCTS, ORDERS)) {
      TableInfo info = TableInfo.describe(spark, t);
      long rows = spark.table(info.sqlName()).count();
      built.add(new BuiltTable(t, info.format(), info.sqlName(), rows, info.version()));
    }
    Optional<Churn> churn =
        churnExample
            ? Optional.of(churn(spark, featureSet, trainingSet, scoring))
            : Optional.empty();
    return new Result(raw, built, skipped, churn, Duration.ofNanos(System.nanoTime() - start));
  }

  private Churn churn(
      SparkSession spark,
      FeatureSetDefinition featureSet,
      TrainingSetSpec trainingSet,
      InferenceJobSpec scoring) {
    Lakehouse lh = Lakehouse.open(spark);

    // 1. features, materialized at every day boundary from the first order to just after the last
    new ApplyFeatureSetsJob(List.of(featureSet)).run(spark);
    Instant first = LocalDate.parse(ShopData.FIRST_DAY).atStartOfDay(ZoneOffset.UTC).toInstant();
    Instant end = first.plus(Duration.ofDays(ShopData.DAYS + 1L));
    FeatureMaterializeJob.Result materialized =
        FeatureMaterializeJob.builder(featureSet.spec().name())
            .optFrom(first)
            .optTo(end)
            .build()
            .run(spark);
    TableName featureTable = featureSet.spec().output().table();

    // 2. the labelled spine, then the training set
    boolean spineWritten = false;
    if (spark.table(lh.sqlName(lh.spec(SPINE))).isEmpty()) {
      lh.sql(spineStatement(lh, first));
      spineWritten = true;
    }
    TableName training = trainingSet.name();
    TrainingSetJob.Result built =
        TrainingSetJob.builder(trainingSet).optSource(source(TRAINING_SET_SPEC)).build().run(spark);
    boolean trainingBuilt = !built.skipped();
    long trainingVersion = built.tableVersion().orElseGet(() -> lh.currentVersion(training));

    // 3. the model, trained on the columns the scoring job feeds it
    List<String> features = modelFeatures(scoring);
    List<Row> rows =
        spark
            .sql(
                String.format(
                    "SELECT * FROM %s VERSION AS OF %d ORDER BY customer_id, as_of",
                    lh.sqlName(lh.spec(training)), trainingVersion))
            .collectAsList();
    ChurnModel trained =
        ChurnModel.train(rows, features, "label", training + "@" + trainingVersion);
    Registered model = register(spark, lh, scoring.model(), trained, training, trainingVersion);

    // 4. scores of every customer's latest features
    InferenceJob.Result scored = new InferenceJob(scoring).run(spark);
    TableName predictions = scoring.output().table();
    String out = lh.sqlName(lh.spec(predictions));
    String ofModel =
        String.format(
            "model_name = '%s' AND model_version = %d",
            model.version().model(), model.version().version());
    long customers =
        spark.sql("SELECT count(*) FROM " + out + " WHERE " + ofModel).first().getLong(0);
    List<Prediction> highest = new ArrayList<>();
    for (Row r :
        spark
            .sql(
                "SELECT customer_id, probability, label FROM "
                    + out
                    + " WHERE "
                    + ofModel
                    + " ORDER BY probability DESC, customer_id LIMIT 5")
            .collectAsList()) {
      highest.add(new Prediction(r.getLong(0), ((Number) r.get(1)).doubleValue(), r.getString(2)));
    }
    List<Lineage.Edge> lineage =
        new Lineage(lh.catalog())
            .walk(Artifact.parse(predictions.toString()), Lineage.Direction.UPSTREAM);
    return new Churn(
        featureTable,
        spark.table(lh.sqlName(lh.spec(featureTable))).count(),
        materialized.skipped(),
        spark.table(lh.sqlName(lh.spec(SPINE))).count(),
        spineWritten,
        training,
        rows.size(),
        trainingBuilt,
        model.version(),
        scoring.model().alias().orElseThrow(),
        model.registered(),
        trained.features(),
        trained.positives() / (double) trained.examples(),
        predictions,
        customers,
        scored.rowsScored(),
        List.copyOf(highest),
        List.copyOf(lineage));
  }

  /**
   * Every customer at weekly as-of times from day 35 of the history (so that the 30-day windows are
   * full) while the label's {@value #LABEL_DAYS} days still lie inside it, labelled from the
   * orders.
   */
  private static String spineStatement(Lakehouse lh, Instant first) {
    StringJoiner asOf = new StringJoiner(", ");
    for (int day = 35; day + LABEL_DAYS <= ShopData.DAYS; day += 7) {
      asOf.add("TIMESTAMP '" + first.plus(Duration.ofDays(day)) + "'");
    }
    return String.format(
        "INSERT INTO %s SELECT c.customer_id, w.as_of, CAST(count(o.order_id) > 0 AS INT) AS label"
            + " FROM %s c CROSS JOIN (SELECT explode(array(%s)) AS as_of) w"
            + " LEFT JOIN %s o ON o.customer_id = c.customer_id AND o.order_ts > w.as_of"
            + " AND o.order_ts <= w.as_of + INTERVAL %d DAYS"
            + " GROUP BY c.customer_id, w.as_of",
        lh.sqlName(lh.spec(SPINE)),
        lh.sqlName(lh.spec(CUSTOMERS)),
        asOf,
        lh.sqlName(lh.spec(ORDERS)),
        LABEL_DAYS);
  }

  /** The columns of the scoring job's tabular input {@value #MODEL_INPUT}: the model's features. */
  private List<String> modelFeatures(InferenceJobSpec scoring) {
    InferenceJobSpec.InputSpec in = scoring.inputs().get(MODEL_INPUT);
    if (in == null || in.columns() == null) {
      throw new SpecException(
          String.format(
              "%s: the quickstart's model takes one tabular input `%s`: map it with `inputs: {%s:"
                  + " {columns: [...], nulls: mean}}` (inputs given: %s).",
              source(SCORING_JOB_SPEC), MODEL_INPUT, MODEL_INPUT, scoring.inputs().keySet()));
    }
    return in.columns();
  }

  /** The model version the alias points at, and whether this run registered it. */
  private record Registered(ModelVersion version, boolean registered) {}

  /**
   * Registers {@code trained} as the next version of {@code ref}'s model and points {@code ref}'s
   * alias at it, unless the alias already points at a version with the same sha256. The
   * registration is a recorded run ({@value #TRAIN_JOB}) from the training set to the model
   * version, so the lineage of the predictions reaches the training data.
   */
  private Registered register(
      SparkSession spark,
      Lakehouse lh,
      ModelRef ref,
      ChurnModel trained,
      TableName training,
      long trainingVersion) {
    String alias =
        ref.alias()
            .orElseThrow(
                () ->
                    new SpecException(
                        String.format(
                            "%s: `model` is %s, a fixed version: the quickstart registers its model"
                                + " under an alias, so name one (e.g. model: %s@champion).",
                            source(SCORING_JOB_SPEC), ref, ref.name())));
    Platform platform = Platform.of(spark);
    ModelRegistry registry =
        ModelRegistry.of(lh.catalog(), platform, spark.sparkContext().hadoopConfiguration());
    Principal who = lh.principal();
    if (registry.models().contains(ref.name())) {
      Integer current = registry.aliases(ref.name()).get(alias);
      if (current != null) {
        ModelVersion v = registry.resolve(ModelRef.of(ref.name(), current), who);
        if (v.sha256().equals(trained.sha256())) {
          return new Registered(v, false);
        }
      }
    }
    Map<String, String> params = new LinkedHashMap<>();
    params.put("model", ref.toString());
    params.put("training_set", training + "@" + trainingVersion);
    params.put("features", String.join(",", trained.features()));
    RunLog.Recording run = lh.runs().start(TRAIN_JOB, who, params);
    try {
      Path dir = Files.createTempDirectory(platform.home(), "quickstart-model");
      try {
        Path onnx = Files.write(dir.resolve(ref.name() + ".onnx"), trained.onnx());
        ModelVersion v =
            registry.register(
                new ModelRegistry.Registration(
                    ref.name(),
                    onnx,
                    ModelFlavor.ONNX,
                    Optional.empty(),
                    Optional.of(
                        "Logistic regression (Tribuo) trained by lakeforge quickstart on "
                            + training
                            + "@"
                            + trainingVersion),
                    Map.of("trained-by", "quickstart", "training-set", training.toString())),
                who);
        registry.alias(ref.name(), alias, v.version(), who);
        run.input(Artifact.table(training.toString(), trainingVersion));
        run.output(Artifact.model(v.model(), v.version()));
        run.succeeded(
            Map.of(
                "examples", trained.examples(),
                "positives", trained.positives(),
                "sha256", v.sha256()));
        return new Registered(v, true);
      } finally {
        Files.deleteIfExists(dir.resolve(ref.name() + ".onnx"));
        Files.deleteIfExists(dir);
      }
    } catch (IOException e) {
      UncheckedIOException wrapped =
          new UncheckedIOException(
              "Cannot write the churn model to the home: " + e.getMessage(), e);
      run.failed(wrapped);
      throw wrapped;
    } catch (RuntimeException e) {
      run.failed(e);
      throw e;
    }
  }

  private List<TableSpec> loadSpecs() {
    List<TableSpec> loaded;
    if (specs.isPresent()) {
      loaded = TableSpecs.load(specs.get());
    } else {
      loaded = new ArrayList<>();
      for (String name : BUNDLED) {
        loaded.add(
            YamlSpecReader.parse(
                resource("tables/" + name), TableSpec.class, "bundled spec " + name));
      }
    }
    Set<TableName> needed = Set.of(CUSTOMERS, PRODUCTS, ORDERS, SPINE);
    List<TableName> missing =
        needed.stream()
            .filter(n -> loaded.stream().noneMatch(s -> s.name().equals(n)))
            .sorted(java.util.Comparator.comparing(TableName::toString))
            .toList();
    if (!missing.isEmpty()) {
      throw new SpecException(
          String.format(
              "The quickstart needs specs for %s, but %s declares no such table: restore conf/tables/shop_*.yaml"
                  + " from the repository.",
              missing, specs.map(Path::toString).orElse("the jar")));
    }
    return loaded;
  }

  /** The spec at {@code relative} under {@link #conf} when it is there, else the bundled copy. */
  private String text(String relative) {
    Optional<Path> file = conf.map(c -> c.resolve(relative)).filter(Files::isRegularFile);
    if (file.isEmpty()) {
      return resource(relative);
    }
    try {
      return Files.readString(file.get());
    } catch (IOException e) {
      throw new SpecException(String.format("Cannot read %s: %s", file.get(), e.getMessage()), e);
    }
  }

  /** Where {@link #text} reads {@code relative} from, for errors. */
  private String source(String relative) {
    return conf.map(c -> c.resolve(relative))
        .filter(Files::isRegularFile)
        .map(Path::toString)
        .orElse("bundled spec conf/" + relative);
  }

  private static String resource(String relative) {
    String path = "/lakeforge/conf/" + relative;
    try (InputStream in = QuickstartJob.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new SpecException("The jar holds no " + path + ": rebuild it with mvn package.");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True when {@code dir} exists (the quickstart then applies the specs found there). */
  public static Optional<Path> specsIfPresent(Path dir) {
    return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
  }
}
