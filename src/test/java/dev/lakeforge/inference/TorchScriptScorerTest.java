package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.ModelFlavor;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelRegistry;
import dev.lakeforge.catalog.ModelSignature;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.testing.SparkTestBase;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TorchScript model scored through Spark with DJL's PyTorch engine: the fixture {@code
 * models/tiny_mlp.pt} (made by {@code models/make_torchscript.py} with Debian's python3-torch) and
 * the outputs PyTorch gave for its reference rows ({@code models/tiny_mlp.json}).
 */
class TorchScriptScorerTest extends SparkTestBase {
  private static final String SIGNATURE =
      """
      inputs:
        - {name: features, type: float32, shape: [-1, 4]}
      outputs:
        - {name: probs, type: float32, shape: [-1, 3]}
        - {name: logits, type: float32, shape: [-1, 3]}
      """;
  private static final StructType ROWS =
      new StructType()
          .add("id", DataTypes.LongType, false)
          .add("f0", DataTypes.DoubleType)
          .add("f1", DataTypes.DoubleType)
          .add("f2", DataTypes.DoubleType)
          .add("f3", DataTypes.FloatType);

  @TempDir static Path models;
  private static JsonNode reference;
  private static Path pt;

  @BeforeAll
  static void register() throws Exception {
    try (InputStream in =
        TorchScriptScorerTest.class.getResourceAsStream("/models/tiny_mlp.json")) {
      reference = new ObjectMapper().readTree(in);
    }
    pt = models.resolve("tiny_mlp.pt");
    try (InputStream in = TorchScriptScorerTest.class.getResourceAsStream("/models/tiny_mlp.pt")) {
      Files.copy(in, pt);
    }
    register("mlp", Optional.of(SIGNATURE));
  }

  private static void register(String name, Optional<String> signature) {
    TestModels.registry(spark)
        .register(
            new ModelRegistry.Registration(
                name,
                pt,
                ModelFlavor.TORCHSCRIPT,
                signature.map(s -> YamlSpecReader.parse(s, ModelSignature.class, "signature")),
                Optional.empty(),
                Map.of()),
            Identity.current());
  }

  private static Dataset<Row> referenceRows() {
    List<Row> rows = new ArrayList<>();
    JsonNode features = reference.get("features");
    for (int i = 0; i < features.size(); i++) {
      JsonNode f = features.get(i);
      rows.add(
          RowFactory.create(
              (long) i,
              f.get(0).asDouble(),
              f.get(1).asDouble(),
              f.get(2).asDouble(),
              (float) f.get(3).asDouble()));
    }
    return spark.createDataFrame(rows, ROWS).repartition(3);
  }

  private static Mappings mappings() {
    return Mappings.builder()
        .input("features", InputMapping.tabular(NullPolicy.ERROR, "f0", "f1", "f2", "f3"))
        .output("probs", OutputMapping.vector("probs"))
        .output("logits", OutputMapping.vector("logits"))
        .output("label", OutputMapping.argmax("probs", List.of("a", "b", "c")))
        .output("p_b", OutputMapping.element("probs", 1))
        .build();
  }

  @Test
  void predictionsThroughSparkEqualWhatPyTorchGaveForTheReferenceRows() {
    Scoring scoring =
        Scorer.of(ModelRef.parse("mlp/1"), mappings()).batchSize(5).prepare(referenceRows());
    List<Row> scored = new ArrayList<>(scoring.output().collectAsList());
    scored.sort(Comparator.comparingLong(r -> r.getLong(0)));

    JsonNode probs = reference.get("probs");
    JsonNode logits = reference.get("logits");
    assertThat(scored).hasSize(probs.size());
    int labelsMatchingTruth = 0;
    for (int i = 0; i < scored.size(); i++) {
      Row row = scored.get(i);
      List<Float> p = row.getList(5);
      List<Float> l = row.getList(6);
      int best = 0;
      for (int k = 0; k < 3; k++) {
        assertThat(p.get(k))
            .as("row %d probs[%d]", i, k)
            .isCloseTo((float) probs.get(i).get(k).asDouble(), within(1e-5f));
        assertThat(l.get(k))
            .as("row %d logits[%d]", i, k)
            .isCloseTo((float) logits.get(i).get(k).asDouble(), within(1e-4f));
        best = probs.get(i).get(k).asDouble() > probs.get(i).get(best).asDouble() ? k : best;
      }
      assertThat(row.getString(7)).isEqualTo(List.of("a", "b", "c").get(best));
      assertThat(row.getFloat(8)).isCloseTo((float) probs.get(i).get(1).asDouble(), within(1e-5f));
      labelsMatchingTruth += best == reference.get("labels").get(i).asInt() ? 1 : 0;
    }
    assertThat(labelsMatchingTruth)
        .as("the fixture is a trained classifier")
        .isGreaterThanOrEqualTo(probs.size() * 3 / 4);
    assertThat(scoring.metrics().rows()).isEqualTo(probs.size());
    assertThat(scoring.metrics().loadsByExecutor()).isEqualTo(Map.of("driver", 1L));
    assertThat(ModelCache.loads(scoring.model().key())).isEqualTo(1);

    scoring.output().collectAsList();
    assertThat(ModelCache.loads(scoring.model().key()))
        .as("loaded once per JVM through the model cache")
        .isEqualTo(1);
  }

  @Test
  void aTorchScriptVersionWithoutASignatureOrAFileThatIsNotTorchScriptIsRefusedNamingTheModel()
      throws Exception {
    assertThatThrownBy(() -> register("mlp-unsigned", Optional.empty()))
        .isInstanceOf(dev.lakeforge.core.SpecException.class)
        .hasMessageStartingWith(
            "Cannot register model mlp-unsigned: it is a TorchScript model, and a TorchScript file"
                + " does not record the names, types and shapes of its inputs and outputs")
        .hasMessageEndingWith(
            "Pass --signature FILE (YAML or JSON, e.g. inputs: [{name: features,"
                + " type: float32, shape: [-1, 4]}] and outputs: [{name: probs, type: float32, shape:"
                + " [-1, 3]}], in the module's order) and register again.");
    // a version registered before a signature was required (an older catalog) has none: scoring
    // it is refused
    register("mlp-unsigned", Optional.of(SIGNATURE));
    try (var c = CatalogDatabase.of(Platform.of(spark)).connect();
        var ps =
            c.prepareStatement(
                "UPDATE model_versions SET signature = NULL WHERE model = 'mlp-unsigned'")) {
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    assertThatThrownBy(
            () ->
                Scorer.of(ModelRef.parse("mlp-unsigned/1"), mappings()).transform(referenceRows()))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining(
            "Cannot score with model mlp-unsigned/1: its version has no signature (inputs and outputs), so"
                + " the mappings cannot be checked. Register it again with --signature.");

    Path notTorch = Files.writeString(models.resolve("broken.pt"), "not a TorchScript archive");
    TestModels.registry(spark)
        .register(
            new ModelRegistry.Registration(
                "mlp-broken",
                notTorch,
                ModelFlavor.TORCHSCRIPT,
                Optional.of(YamlSpecReader.parse(SIGNATURE, ModelSignature.class, "signature")),
                Optional.empty(),
                Map.of()),
            Identity.current());
    Dataset<Row> scored =
        Scorer.of(ModelRef.parse("mlp-broken/1"), mappings()).transform(referenceRows());
    assertThatThrownBy(scored::collectAsList)
        .hasMessageContainingAll(
            "Cannot load model mlp-broken/1 from ",
            "broken.pt with DJL's PyTorch engine",
            "Check that the file is a TorchScript module");
  }
}
