package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scoring DataFrames with real models on a {@code local[2]} session: the predictions equal what
 * ONNX Runtime gives for the same rows outside Spark, for each input mapping, null policy and
 * output mapping, and the model is loaded once per JVM while many partitions are scored in batches.
 */
class ScorerTest extends SparkTestBase {
  private static final float TOLERANCE = 1e-6f;
  private static final StructType CUSTOMERS = TestModels.CUSTOMERS;

  @TempDir static Path models;
  private static TestModels.Churn churn;
  private static ModelVersion churnV1;
  private static List<Row> customers;

  @BeforeAll
  static void trainAndRegister() throws Exception {
    churn = TestModels.trainChurn(models, 500);
    churnV1 = TestModels.register(spark, "churn", churn.onnx());
    customers = customers(300);
  }

  /**
   * Generated customers; {@code orders_7d} is null in every 7th row, {@code spend_30d} in every
   * 5th.
   */
  private static List<Row> customers(int n) {
    Random random = new Random(3);
    List<Row> rows = new ArrayList<>();
    for (long id = 0; id < n; id++) {
      rows.add(
          RowFactory.create(
              id,
              id % 7 == 3 ? null : random.nextInt(10),
              id % 5 == 1 ? null : random.nextDouble() * 50,
              (long) random.nextInt(60),
              id % 2 == 0 ? "DE" : "FR"));
    }
    return rows;
  }

  private static Dataset<Row> frame(List<Row> rows) {
    return spark.createDataFrame(rows, CUSTOMERS);
  }

  /** The rows' features in the model's order, a null replaced by {@code fill} of its column. */
  private static float[][] features(List<Row> rows, Map<String, Double> fill) {
    float[][] out = new float[rows.size()][];
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      float[] f = new float[churn.features().size()];
      for (int j = 0; j < f.length; j++) {
        String c = churn.features().get(j);
        Object v = row.get(CUSTOMERS.fieldIndex(c));
        f[j] = v == null ? fill.get(c).floatValue() : ((Number) v).floatValue();
      }
      out[r] = f;
    }
    return out;
  }

  private static double mean(List<Row> rows, String column) {
    return rows.stream()
        .map(r -> r.get(CUSTOMERS.fieldIndex(column)))
        .filter(v -> v != null)
        .mapToDouble(v -> ((Number) v).doubleValue())
        .average()
        .orElseThrow();
  }

  private static List<Row> byId(Dataset<Row> scored) {
    List<Row> rows = new ArrayList<>(scored.collectAsList());
    rows.sort(Comparator.comparingLong(r -> r.getLong(0)));
    return rows;
  }

  private static Mappings churnMappings(NullPolicy nulls) {
    return Mappings.builder()
        .input("input", InputMapping.tabular(nulls, churn.features()))
        .output("probability", OutputMapping.element("output", churn.index("churns")))
        .build();
  }

  @Test
  void tabularWithNullsZeroEqualsOnnxRuntimeOnTheSameRows() throws Exception {
    List<Row> scored =
        byId(
            Scorer.of(ModelRef.parse("churn/1"), churnMappings(NullPolicy.ZERO))
                .batchSize(64)
                .transform(frame(customers)));

    Map<String, Double> zero = Map.of("orders_7d", 0.0, "spend_30d", 0.0, "days_since_last", 0.0);
    float[][] expected =
        TestModels.run(churn.onnx(), "input", "output", features(customers, zero), 3);
    assertThat(scored).hasSize(customers.size());
    for (int r = 0; r < scored.size(); r++) {
      Row row = scored.get(r);
      assertThat(row.getLong(0)).isEqualTo(customers.get(r).getLong(0));
      assertThat(row.getString(4)).isEqualTo(customers.get(r).getString(4));
      assertThat(row.getFloat(5))
          .as("customer %d", r)
          .isCloseTo(expected[r][churn.index("churns")], within(TOLERANCE));
    }
    assertThat(scored.get(3).isNullAt(1)).as("the input's nulls stay in the output").isTrue();
  }

  @Test
  void tabularWithNullsMeanFillsTheMeanOfTheInputComputedOnTheDriver() throws Exception {
    List<Row> scored =
        byId(
            Scorer.of(ModelRef.parse("churn/1"), churnMappings(NullPolicy.MEAN))
                .transform(frame(customers)));

    Map<String, Double> means =
        Map.of(
            "orders_7d", mean(customers, "orders_7d"),
            "spend_30d", mean(customers, "spend_30d"),
            "days_since_last", mean(customers, "days_since_last"));
    float[][] expected =
        TestModels.run(churn.onnx(), "input", "output", features(customers, means), 3);
    for (int r = 0; r < scored.size(); r++) {
      assertThat(scored.get(r).getFloat(5))
          .as("customer %d", r)
          .isCloseTo(expected[r][churn.index("churns")], within(TOLERANCE));
    }
  }

  @Test
  void tabularWithNullsErrorScoresRowsWithoutNulls() throws Exception {
    List<Row> complete = customers.stream().filter(r -> !r.isNullAt(1) && !r.isNullAt(2)).toList();
    List<Row> scored =
        byId(
            Scorer.of(ModelRef.parse("churn/1"), churnMappings(NullPolicy.ERROR))
                .transform(frame(complete)));

    float[][] expected =
        TestModels.run(churn.onnx(), "input", "output", features(complete, Map.of()), 3);
    assertThat(scored).hasSize(complete.size());
    for (int r = 0; r < scored.size(); r++) {
      assertThat(scored.get(r).getFloat(5))
          .isCloseTo(expected[r][churn.index("churns")], within(TOLERANCE));
    }
  }

  @Test
  void eachOutputMappingEqualsOnnxRuntime() throws Exception {
    Mappings mappings =
        Mappings.builder()
            .input("input", InputMapping.tabular(NullPolicy.ZERO, churn.features()))
            .output("p_stays", OutputMapping.element("output", churn.index("stays")))
            .output("class_index", OutputMapping.argmax("output"))
            .output("label", OutputMapping.argmax("output", churn.labels()))
            .output("scores", OutputMapping.vector("output"))
            .build();
    Dataset<Row> out = Scorer.of(ModelRef.parse("churn/1"), mappings).transform(frame(customers));

    assertThat(out.schema().fieldNames()).endsWith("p_stays", "class_index", "label", "scores");
    assertThat(out.schema().apply("p_stays").dataType()).isEqualTo(DataTypes.FloatType);
    assertThat(out.schema().apply("class_index").dataType()).isEqualTo(DataTypes.IntegerType);
    assertThat(out.schema().apply("label").dataType()).isEqualTo(DataTypes.StringType);
    assertThat(out.schema().apply("scores").dataType())
        .isEqualTo(DataTypes.createArrayType(DataTypes.FloatType, false));
    Map<String, Double> zero = Map.of("orders_7d", 0.0, "spend_30d", 0.0, "days_since_last", 0.0);
    float[][] expected =
        TestModels.run(churn.onnx(), "input", "output", features(customers, zero), 3);
    List<Row> scored = byId(out);
    int labelsSeen = 0;
    for (int r = 0; r < scored.size(); r++) {
      Row row = scored.get(r);
      float[] p = expected[r];
      int best = p[1] > p[0] ? 1 : 0;
      assertThat(row.getFloat(5)).isCloseTo(p[churn.index("stays")], within(TOLERANCE));
      assertThat(row.getInt(6)).isEqualTo(best);
      assertThat(row.getString(7)).isEqualTo(churn.labels().get(best));
      List<Float> scores = row.getList(8);
      assertThat(scores).hasSize(2);
      assertThat(scores.get(0)).isCloseTo(p[0], within(TOLERANCE));
      assertThat(scores.get(1)).isCloseTo(p[1], within(TOLERANCE));
      labelsSeen |= 1 << best;
    }
    assertThat(labelsSeen).as("both classes are predicted for some customers").isEqualTo(3);
  }

  @Test
  void tensorMappingReshapesFloatAndDoubleArrayColumns() throws Exception {
    Path image = TestModels.writeImageModel(models);
    TestModels.register(spark, "digits", image);
    Random random = new Random(5);
    List<Row> rows = new ArrayList<>();
    float[][] pixels = new float[40][16];
    for (int i = 0; i < pixels.length; i++) {
      float[] f = new float[16];
      double[] d = new double[16];
      for (int k = 0; k < 16; k++) {
        f[k] = random.nextFloat();
        d[k] = f[k];
      }
      pixels[i] = f;
      rows.add(RowFactory.create((long) i, toList(f), toList(d)));
    }
    StructType schema =
        new StructType()
            .add("id", DataTypes.LongType, false)
            .add("pixels", DataTypes.createArrayType(DataTypes.FloatType))
            .add("pixels_d", DataTypes.createArrayType(DataTypes.DoubleType));
    float[][] expected = TestModels.run(image, "image", "probs", pixels, 1, 4, 4);

    for (String column : List.of("pixels", "pixels_d")) {
      Mappings mappings =
          Mappings.builder()
              .input("image", InputMapping.tensor(column, 1, 4, 4))
              .output("probs", OutputMapping.vector("probs"))
              .output("digit", OutputMapping.argmax("probs"))
              .build();
      List<Row> scored =
          byId(
              Scorer.of(ModelRef.parse("digits/1"), mappings)
                  .batchSize(7)
                  .transform(spark.createDataFrame(rows, schema)));
      assertThat(scored).hasSize(rows.size());
      for (int r = 0; r < scored.size(); r++) {
        List<Float> probs = scored.get(r).getList(3);
        int best = 0;
        for (int k = 0; k < 3; k++) {
          assertThat(probs.get(k))
              .as("%s row %d", column, r)
              .isCloseTo(expected[r][k], within(TOLERANCE));
          best = expected[r][k] > expected[r][best] ? k : best;
        }
        assertThat(scored.get(r).getInt(4)).isEqualTo(best);
      }
    }
  }

  private static List<Float> toList(float[] a) {
    List<Float> out = new ArrayList<>();
    for (float v : a) {
      out.add(v);
    }
    return out;
  }

  private static List<Double> toList(double[] a) {
    List<Double> out = new ArrayList<>();
    for (double v : a) {
      out.add(v);
    }
    return out;
  }

  @Test
  void loadsTheModelOncePerJvmWhileManyPartitionsAreScoredInBatches() {
    // A version of its own, so that no other test of this JVM has loaded it.
    ModelVersion v = TestModels.register(spark, "loads-probe", churn.onnx());
    TestModels.registry(spark).alias("loads-probe", "champion", v.version(), Identity.current());
    Dataset<Row> input =
        spark
            .range(0, 4000, 1, 16)
            .select(
                functions.col("id").alias("customer_id"),
                functions.col("id").mod(60).alias("days_since_last"),
                functions.col("id").mod(10).cast("int").alias("orders_7d"),
                functions.col("id").mod(50).cast("double").alias("spend_30d"));
    Scoring scoring =
        Scorer.of(ModelRef.parse("loads-probe@champion"), churnMappings(NullPolicy.ERROR))
            .batchSize(100)
            .prepare(input);
    assertThat(scoring.model().toString()).isEqualTo("loads-probe/" + v.version());
    assertThat(ModelCache.loads(scoring.model().key()))
        .as("nothing runs before an action")
        .isZero();

    assertThat(scoring.output().collectAsList()).hasSize(4000);
    assertThat(ModelCache.loads(scoring.model().key())).isEqualTo(1);
    assertThat(ModelCache.loaded()).contains(scoring.model().key());
    ScoringMetrics m = scoring.metrics();
    assertThat(m.rows()).isEqualTo(4000);
    // 16 partitions of 250 rows, in batches of at most 100: 3 model calls each, not 250.
    assertThat(m.batches()).isEqualTo(16 * 3);
    assertThat(m.loadsByExecutor()).isEqualTo(Map.of("driver", 1L));
    assertThat(m.modelLoadMillis()).isPositive();

    scoring.output().collectAsList();
    assertThat(ModelCache.loads(scoring.model().key()))
        .as("a second action reuses the JVM's model")
        .isEqualTo(1);
    assertThat(m.modelLoads()).isEqualTo(1);
    assertThat(m.batches()).isEqualTo(2 * 16 * 3);
  }

  @Test
  void transformRunsNoSparkJobUntilAnActionEvenOverAShuffle() throws Exception {
    // Under adaptive execution, planning a query with a shuffle runs its shuffle stage; the scoring
    // must not plan its input before an action does.
    Dataset<Row> input =
        spark
            .range(0, 600, 1, 4)
            .groupBy(functions.col("id").mod(200).alias("customer_id"))
            .agg(
                functions.max(functions.col("id").mod(60)).alias("days_since_last"),
                functions.count("id").cast("int").alias("orders_7d"),
                functions.sum("id").cast("double").alias("spend_30d"));
    java.util.concurrent.atomic.AtomicInteger jobs =
        new java.util.concurrent.atomic.AtomicInteger();
    org.apache.spark.scheduler.SparkListener counter =
        new org.apache.spark.scheduler.SparkListener() {
          @Override
          public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart start) {
            jobs.incrementAndGet();
          }
        };
    spark.sparkContext().addSparkListener(counter);
    try {
      Dataset<Row> scored =
          Scorer.of(ModelRef.parse("churn/1"), churnMappings(NullPolicy.ERROR)).transform(input);
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertThat(jobs.get()).as("Spark jobs run by transform").isZero();

      List<Row> rows = byId(scored);
      assertThat(rows).hasSize(200);
      assertThat(rows.get(7).getLong(0)).isEqualTo(7);
      assertThat(rows.get(7).getInt(2)).as("orders_7d: 600 ids, 3 per key").isEqualTo(3);
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertThat(jobs.get()).as("Spark jobs run by the action").isPositive();
    } finally {
      spark.sparkContext().removeSparkListener(counter);
    }
  }

  @Test
  void theCacheSharesOneLoadedPredictorClosesItAndLoadsAgainAfterwards() throws Exception {
    ModelSpec spec =
        ModelSpec.of(TestModels.register(spark, "cache-probe", churn.onnx()), Device.CPU);
    ModelCache.Lease first = ModelCache.acquire(spec, RuntimeOptions.DEFAULTS, Configuration::new);
    ModelCache.Lease again = ModelCache.acquire(spec, RuntimeOptions.DEFAULTS, Configuration::new);
    assertThat(first.loaded()).isTrue();
    assertThat(again.loaded()).isFalse();
    assertThat(again.predictor()).isSameAs(first.predictor());

    float[][] rows = {{1, 2, 3}, {40, 0, 12.5f}};
    FloatBuffer direct =
        ByteBuffer.allocateDirect(6 * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    direct.put(rows[0]).put(rows[1]).flip();
    Map<String, Tensor> in = Map.of("input", Tensor.of(direct, 2, 3));
    Tensor out = first.predictor().predict(in, Set.of("output")).get("output");
    float[][] expected = TestModels.run(churn.onnx(), "input", "output", rows, 3);
    assertThat(out.shape()).containsExactly(2, 2);
    for (int i = 0; i < 4; i++) {
      assertThat((float) out.getDouble(i)).isCloseTo(expected[i / 2][i % 2], within(TOLERANCE));
    }

    ModelCache.closeAll();
    assertThatThrownBy(() -> first.predictor().predict(in, Set.of("output")))
        .isInstanceOf(InferenceException.class)
        .hasMessage("Model cache-probe/1 was closed; it cannot score any more.");
    assertThat(ModelCache.acquire(spec, RuntimeOptions.DEFAULTS, Configuration::new).loaded())
        .isTrue();
    assertThat(ModelCache.loads(spec.key())).isEqualTo(2);
  }
}
