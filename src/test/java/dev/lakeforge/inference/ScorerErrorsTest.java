package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mistakes in what is scored, each a clear error naming the model and the column, input or output:
 * the ones the driver can see fail in {@code transform}, before any Spark job runs; bad values fail
 * the action, naming the column.
 */
class ScorerErrorsTest extends SparkTestBase {
  private static final String GROUP = "scorer-errors";
  private static final StructType CUSTOMERS =
      new StructType()
          .add("customer_id", DataTypes.LongType, false)
          .add("orders_7d", DataTypes.IntegerType)
          .add("spend_30d", DataTypes.DoubleType)
          .add("days_since_last", DataTypes.LongType)
          .add("country", DataTypes.StringType)
          .add("pixels", DataTypes.createArrayType(DataTypes.FloatType));

  @TempDir static Path models;
  private static TestModels.Churn churn;
  private static Dataset<Row> customers;

  @BeforeAll
  static void models() throws Exception {
    churn = TestModels.trainChurn(models, 200);
    TestModels.register(spark, "churn", churn.onnx());
    TestModels.register(spark, "digits", TestModels.writeImageModel(models));
    List<Row> rows = new ArrayList<>();
    for (long id = 0; id < 20; id++) {
      List<Float> pixels = new ArrayList<>();
      for (int k = 0; k < (id == 13 ? 15 : 16); k++) {
        pixels.add(k / 16f);
      }
      rows.add(
          RowFactory.create(id, id == 17 ? null : (int) id % 10, id * 1.5, id % 60, "DE", pixels));
    }
    customers = spark.createDataFrame(rows, CUSTOMERS);
  }

  private static Mappings tabular(List<String> columns) {
    return Mappings.builder()
        .input("input", InputMapping.tabular(NullPolicy.ERROR, columns))
        .output("probability", OutputMapping.element("output", 1))
        .build();
  }

  private static Dataset<Row> score(String model, Mappings mappings) {
    return Scorer.of(ModelRef.parse(model), mappings).transform(customers);
  }

  /**
   * Asserts that {@code call} fails with a message holding {@code parts}, with no Spark job run.
   */
  private static void failsBeforeAnyJob(
      ThrowingCallable call, Class<? extends Throwable> type, String... parts) {
    spark.sparkContext().setJobGroup(GROUP, "checks", false);
    try {
      assertThatThrownBy(call).isInstanceOf(type).hasMessageContainingAll(parts);
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(GROUP))
        .as("Spark jobs run before the error")
        .isEmpty();
  }

  @Test
  void unknownModelListsTheRegisteredOnes() {
    failsBeforeAnyJob(
        () -> score("chrun/1", tabular(churn.features())),
        SpecException.class,
        "No model named 'chrun'",
        "churn",
        "digits");
  }

  @Test
  void unknownAliasOrVersionListsWhatExists() {
    failsBeforeAnyJob(
        () -> score("churn@champion", tabular(churn.features())),
        SpecException.class,
        "Model churn has no alias 'champion'",
        "lakeforge models alias churn champion");
    failsBeforeAnyJob(
        () -> score("churn/9", tabular(churn.features())),
        SpecException.class,
        "Model churn has no version 9 (versions: [1])");
  }

  @Test
  void missingColumnIsNamedWithTheColumnsThereAre() {
    failsBeforeAnyJob(
        () -> score("churn/1", tabular(List.of("days_since_last", "orders_7d", "spend_90d"))),
        InferenceException.class,
        "Cannot score with model churn/1: input `input` maps column `spend_90d`, which the DataFrame does"
            + " not have (columns: customer_id, orders_7d, spend_30d, days_since_last, country, pixels)");
  }

  @Test
  void wrongColumnTypeIsNamed() {
    failsBeforeAnyJob(
        () -> score("churn/1", tabular(List.of("days_since_last", "country", "spend_30d"))),
        InferenceException.class,
        "Cannot score with model churn/1: column `country` is string; tabular input `input` takes numeric"
            + " columns");
    failsBeforeAnyJob(
        () ->
            score(
                "digits/1",
                Mappings.builder()
                    .input("image", InputMapping.tensor("country", 1, 4, 4))
                    .output("probs", OutputMapping.vector("probs"))
                    .build()),
        InferenceException.class,
        "column `country` is string; tensor input `image` takes an array<float> or array<double> column");
  }

  @Test
  void inputNameTheSignatureDoesNotHaveIsNamedWithTheInputsItHas() {
    failsBeforeAnyJob(
        () ->
            score(
                "churn/1",
                Mappings.builder()
                    .input("features", InputMapping.tabular(NullPolicy.ZERO, churn.features()))
                    .output("probability", OutputMapping.element("output", 1))
                    .build()),
        InferenceException.class,
        "Cannot score with model churn/1: the model has no input `features` (its inputs: input float32"
            + " [-1, 3])");
  }

  @Test
  void shapeMismatchNamesTheInputAndBothShapes() {
    failsBeforeAnyJob(
        () -> score("churn/1", tabular(List.of("days_since_last", "orders_7d"))),
        InferenceException.class,
        "model input `input` is float32 [-1, 3], but its tabular mapping gives [batch, 2] (2 columns:"
            + " days_since_last, orders_7d)");
    failsBeforeAnyJob(
        () ->
            score(
                "digits/1",
                Mappings.builder()
                    .input("image", InputMapping.tensor("pixels", 1, 8, 8))
                    .output("probs", OutputMapping.vector("probs"))
                    .build()),
        InferenceException.class,
        "shape mismatch: model input `image` is float32 [-1, 1, 4, 4], but the mapping of column `pixels`"
            + " gives [batch, 1, 8, 8]");
  }

  @Test
  void outputsAreCheckedAgainstTheSignature() {
    failsBeforeAnyJob(
        () ->
            score(
                "churn/1",
                Mappings.builder()
                    .input("input", InputMapping.tabular(NullPolicy.ZERO, churn.features()))
                    .output("p", OutputMapping.element("probs", 0))
                    .build()),
        InferenceException.class,
        "output column `p` reads model output `probs`, which the model does not have (its outputs: output"
            + " float32 [-1, 2])");
    failsBeforeAnyJob(
        () ->
            score(
                "churn/1",
                Mappings.builder()
                    .input("input", InputMapping.tabular(NullPolicy.ZERO, churn.features()))
                    .output("p", OutputMapping.element("output", 2))
                    .build()),
        InferenceException.class,
        "output column `p` takes element 2 of model output `output` (float32 [-1, 2]), which has 2 per"
            + " row. Use an index from 0 to 1.");
    failsBeforeAnyJob(
        () ->
            score(
                "churn/1",
                Mappings.builder()
                    .input("input", InputMapping.tabular(NullPolicy.ZERO, churn.features()))
                    .output("country", OutputMapping.argmax("output"))
                    .build()),
        InferenceException.class,
        "output column `country` is already a column of the DataFrame");
  }

  @Test
  void executeOnTheModelIsRequired() {
    spark.conf().set(Principal.SPARK_CONF, "analyst");
    try {
      failsBeforeAnyJob(
          () -> score("churn/1", tabular(churn.features())),
          AccessDeniedException.class,
          "principal analyst does not hold EXECUTE on model:churn",
          "lakeforge catalog grant EXECUTE model:churn analyst");
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
  }

  @Test
  void cudaOnTheCpuBuildSaysWhatIsMissing() {
    failsBeforeAnyJob(
        () ->
            Scorer.of(ModelRef.parse("churn/1"), tabular(churn.features()))
                .device(Device.CUDA)
                .transform(customers),
        InferenceException.class,
        "Cannot score with model churn/1 on device cuda: this build of Lakeforge has the CPU build of ONNX"
            + " Runtime (build the GPU variant with the Maven profile gpu: mvn -Pgpu package); and Spark"
            + " assigns no GPUs to tasks in local mode (master local[2]): GPUs need a cluster master, with"
            + " spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount set. Or use device:"
            + " auto or cpu to score on the CPU.");
  }

  @Test
  void nullWithNullsErrorFailsTheActionNamingTheColumn() {
    Dataset<Row> scored = score("churn/1", tabular(churn.features()));
    assertThatThrownBy(scored::collectAsList)
        .hasMessageContaining(
            "Cannot score with model churn/1: column `orders_7d` is null in a row, and input `input` says"
                + " nulls: error. Filter or fill the nulls, or set nulls: zero or nulls: mean.");
  }

  @Test
  void arrayOfTheWrongLengthFailsTheActionNamingTheColumn() {
    Dataset<Row> scored =
        score(
            "digits/1",
            Mappings.builder()
                .input("image", InputMapping.tensor("pixels", 1, 4, 4))
                .output("probs", OutputMapping.vector("probs"))
                .build());
    assertThatThrownBy(scored::collectAsList)
        .hasMessageContaining(
            "Cannot score with model digits/1: column `pixels` holds an array of 15 values in a row, but"
                + " tensor input `image` reshapes it to [1, 4, 4], which takes 16.");
  }

  @Test
  void aNullArrayElementFailsTheActionNamingItsPosition() {
    List<Float> pixels = new ArrayList<>();
    for (int k = 0; k < 16; k++) {
      pixels.add(k == 5 ? null : k / 16f);
    }
    Dataset<Row> images =
        spark.createDataFrame(
            List.of(RowFactory.create(1L, null, 1.0, 1L, "DE", pixels)), CUSTOMERS);
    Dataset<Row> scored =
        Scorer.of(
                ModelRef.parse("digits/1"),
                Mappings.builder()
                    .input("image", InputMapping.tensor("pixels", 1, 4, 4))
                    .output("probs", OutputMapping.vector("probs"))
                    .build())
            .transform(images);
    assertThatThrownBy(scored::collectAsList)
        .hasMessageContaining(
            "Cannot score with model digits/1: column `pixels` has a null element at position 5 in a"
                + " row. Replace null elements before scoring.");
  }

  @Test
  void aChangedArtifactIsRefusedOnTheExecutor() throws Exception {
    ModelVersion v = TestModels.register(spark, "tampered", churn.onnx());
    Path stored = Path.of(new org.apache.hadoop.fs.Path(v.artifactUri()).toUri().getPath());
    stored.toFile().setWritable(true);
    Files.write(stored, new byte[] {1, 2, 3});
    Dataset<Row> scored = score("tampered/1", tabular(churn.features()));
    assertThatThrownBy(scored::collectAsList)
        .hasMessageContainingAll(
            "The artifact of model tampered/1 at " + v.artifactUri(),
            "but the catalog recorded " + v.sha256(),
            "register the model again from a good copy");
  }
}
