package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Text inputs scored with all-MiniLM-L6-v2 registered as one version of two files (the model and
 * its tokenizer.json): the embeddings carry meaning (paraphrases close, unrelated sentences far),
 * equal what ONNX Runtime gives outside Spark sentence by sentence, and do not depend on length
 * bucketing; a text too long with truncation off fails naming the column and the row.
 */
class TextScorerTest extends SparkTestBase {
  private static final StructType DOCS =
      new StructType()
          .add("id", DataTypes.LongType, false)
          .add("text", DataTypes.StringType)
          .add("score", DataTypes.DoubleType);

  @TempDir static Path models;
  private static TestModels.MiniLm int8;
  private static TestModels.MiniLm fp32;

  @BeforeAll
  static void register() throws Exception {
    int8 = TestModels.miniLm(models, true);
    fp32 = TestModels.miniLm(models, false);
    TestModels.register(spark, "minilm-q", int8.files());
    TestModels.register(spark, "minilm", fp32.files());
  }

  private static Dataset<Row> docs(List<String> texts) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      rows.add(RowFactory.create((long) i, texts.get(i), i * 0.5));
    }
    return spark.createDataFrame(rows, DOCS).repartition(3);
  }

  private static Mappings embedding(int maxLength, boolean truncation) {
    return Mappings.builder()
        .input("text", InputMapping.text("text", maxLength, truncation))
        .output("embedding", OutputMapping.meanPooled("last_hidden_state", true))
        .build();
  }

  /** The scored rows by id: id, text, score, embedding. */
  private static List<Row> byId(Dataset<Row> scored) {
    List<Row> rows = new ArrayList<>(scored.collectAsList());
    rows.sort(Comparator.comparingLong(r -> r.getLong(0)));
    return rows;
  }

  private static float[] vector(Row row) {
    List<Float> v = row.getList(3);
    float[] out = new float[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = v.get(i);
    }
    return out;
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  @Test
  void paraphrasesAreCloseAndUnrelatedSentencesFarWithTheJobSpecsMappings() {
    InferenceJobSpec spec =
        InferenceJobSpec.parse(
            """
            name: embed_docs
            model: minilm-q/1
            input: {table: docs.pages, keys: [id]}
            inputs:
              text: {column: text, max-length: 128, truncation: true}
            outputs:
              embedding: {from: last_hidden_state, pool: mean, normalize: true}
            output: {table: docs.embeddings}
            """,
            "embed.yaml");
    List<String> texts =
        List.of(
            "A cat is sitting on the mat.",
            "The cat sits on a mat.",
            "How can I reset my password?",
            "I forgot my password and need to change it.",
            "The stock market fell sharply today.",
            "Stocks dropped steeply on the exchange today.");
    List<Row> scored =
        byId(
            Scorer.of(spec.model(), spec.mappings())
                .runtime(spec.runtime())
                .keys("id")
                .transform(docs(texts)));

    assertThat(scored).hasSize(texts.size());
    float[][] v = scored.stream().map(TextScorerTest::vector).toArray(float[][]::new);
    for (int i = 0; i < texts.size(); i++) {
      assertThat(scored.get(i).getString(1)).isEqualTo(texts.get(i));
      assertThat(v[i]).hasSize(384);
      assertThat(cosine(v[i], v[i])).isCloseTo(1.0, within(1e-5));
    }
    double closestUnrelated = 0;
    for (int i = 0; i < texts.size(); i++) {
      for (int j = 0; j < texts.size(); j++) {
        if (i / 2 != j / 2) {
          closestUnrelated = Math.max(closestUnrelated, cosine(v[i], v[j]));
        }
      }
    }
    for (int pair = 0; pair < 3; pair++) {
      double paraphrase = cosine(v[2 * pair], v[2 * pair + 1]);
      assertThat(paraphrase)
          .as("'%s' ~ '%s'", texts.get(2 * pair), texts.get(2 * pair + 1))
          .isGreaterThan(0.6)
          .isGreaterThan(closestUnrelated + 0.3);
    }
  }

  /** Sentences of 1 to 40 words from a small vocabulary, so batches pad to different lengths. */
  private static List<String> sentences(int n) {
    String[] words =
        ("the quick brown fox jumps over a lazy dog while data engineers write spark jobs that score"
                + " tables with models every night and morning")
            .split(" ");
    Random random = new Random(17);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int length = 1 + random.nextInt(i % 5 == 0 ? 40 : 10);
      StringBuilder b = new StringBuilder();
      for (int w = 0; w < length; w++) {
        b.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
      }
      out.add(b.append('.').toString());
    }
    return out;
  }

  @Test
  void embeddingsEqualOnnxRuntimeOutsideSparkWithBucketingOnOrOff() throws Exception {
    List<String> texts = sentences(45);
    float[][] expected = TestModels.embed(fp32, texts, 32);

    List<List<Row>> runs = new ArrayList<>();
    for (boolean bucketing : List.of(true, false)) {
      Scoring scoring =
          Scorer.of(ModelRef.parse("minilm/1"), embedding(32, true))
              .batchSize(4)
              .bucketing(bucketing)
              .prepare(docs(texts));
      List<Row> scored = byId(scoring.output());
      runs.add(scored);
      assertThat(scored).hasSize(texts.size());
      for (int i = 0; i < texts.size(); i++) {
        Row row = scored.get(i);
        assertThat(row.getLong(0)).isEqualTo(i);
        assertThat(row.getString(1)).isEqualTo(texts.get(i));
        assertThat(row.getDouble(2)).as("the input row's other columns").isEqualTo(i * 0.5);
        float[] v = vector(row);
        for (int k = 0; k < v.length; k++) {
          assertThat(v[k])
              .as("bucketing %s, row %d, element %d", bucketing, i, k)
              .isCloseTo(expected[i][k], within(1e-5f));
        }
      }
      assertThat(scoring.metrics().rows()).isEqualTo(texts.size());
      // 3 partitions of 15 rows in batches of 4: 4 model calls each, whatever the windows.
      assertThat(scoring.metrics().batches()).isEqualTo(3 * 4);
    }
    for (int i = 0; i < texts.size(); i++) {
      assertThat(vector(runs.get(0).get(i)))
          .as("row %d with bucketing on and off", i)
          .containsExactly(vector(runs.get(1).get(i)), within(1e-6f));
    }
  }

  @Test
  void aTextLongerThanMaxLengthIsCutOrFailsNamingTheColumnAndTheRow() throws Exception {
    String long_ = "spark scores every row of the table with the model that the catalog names";
    List<String> texts = List.of("a short one.", long_, "another short sentence.");

    List<Row> cut =
        byId(Scorer.of(ModelRef.parse("minilm/1"), embedding(8, true)).transform(docs(texts)));
    float[][] expected = TestModels.embed(fp32, texts, 8);
    for (int i = 0; i < texts.size(); i++) {
      assertThat(vector(cut.get(i))).containsExactly(expected[i], within(1e-5f));
    }

    Dataset<Row> strict =
        Scorer.of(ModelRef.parse("minilm/1"), embedding(8, false))
            .keys("id")
            .transform(docs(texts));
    assertThatThrownBy(strict::collectAsList)
        .hasMessageContaining(
            "Cannot score with model minilm/1: column `text` in the row with id=1 has 16 tokens, more than"
                + " text input `text`'s max-length 8, and truncation is off. Set truncation: true to cut"
                + " such texts, raise max-length (up to what the model takes), or shorten the text.");
    Dataset<Row> noKeys =
        Scorer.of(ModelRef.parse("minilm/1"), embedding(8, false))
            .transform(spark.createDataFrame(List.of(RowFactory.create(7L, long_, 0.0)), DOCS));
    assertThatThrownBy(noKeys::collectAsList)
        .hasMessageContaining("column `text` in row 0 of partition 0 has 16 tokens");
  }

  /** Asserts that {@code call} fails with {@code message} inside, with no Spark job run. */
  private static void failsBeforeAnyJob(
      org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String... parts) {
    spark.sparkContext().setJobGroup("text-errors", "checks", false);
    try {
      assertThatThrownBy(call)
          .isInstanceOf(InferenceException.class)
          .hasMessageContainingAll(parts);
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup("text-errors"))
        .as("Spark jobs run before the error")
        .isEmpty();
  }

  @Test
  void textMistakesFailBeforeAnyJobNamingTheModelAndTheColumn() throws Exception {
    Dataset<Row> docs = docs(List.of("one", "two"));
    failsBeforeAnyJob(
        () ->
            Scorer.of(
                    ModelRef.parse("minilm/1"),
                    Mappings.builder()
                        .input("text", InputMapping.text("score", 16, true))
                        .output("embedding", OutputMapping.meanPooled("last_hidden_state", true))
                        .build())
                .transform(docs),
        "Cannot score with model minilm/1: column `score` is double; text input `text` takes a string"
            + " column.");
    TestModels.register(spark, "minilm-bare", List.of(fp32.onnx()));
    failsBeforeAnyJob(
        () -> Scorer.of(ModelRef.parse("minilm-bare/1"), embedding(16, true)).transform(docs),
        "Cannot score with model minilm-bare/1: text input `text` tokenizes with the tokenizer.json"
            + " stored in the model version, but the version has none (its files:"
            + " [all-minilm-l6-v2.onnx]). Register the version with its tokenizer");
    failsBeforeAnyJob(
        () ->
            Scorer.of(ModelRef.parse("minilm/1"), embedding(16, true))
                .keys("doc_id")
                .transform(docs),
        "Cannot score with model minilm/1: key column `doc_id` is not a column of the DataFrame");
    failsBeforeAnyJob(
        () ->
            Scorer.of(
                    ModelRef.parse("minilm/1"),
                    Mappings.builder()
                        .input("text", InputMapping.text("text", 16, true))
                        .output("first", OutputMapping.meanPooled("pooled", false))
                        .build())
                .transform(docs),
        "output column `first` reads model output `pooled`, which the model does not have (its outputs:"
            + " last_hidden_state float32 [-1, -1, 384])");
    TestModels.register(spark, "digits", TestModels.writeImageModel(models));
    failsBeforeAnyJob(
        () -> Scorer.of(ModelRef.parse("digits/1"), embedding(16, true)).transform(docs),
        "Cannot score with model digits/1: text input `text` fills input_ids (and attention_mask,"
            + " token_type_ids when the model takes them), but the model has no input_ids (its inputs:"
            + " image float32 [-1, 1, 4, 4])");
    Dataset<Row> images =
        spark.createDataFrame(
            List.of(RowFactory.create(1L, java.util.Collections.nCopies(16, 0f))),
            new StructType()
                .add("id", DataTypes.LongType)
                .add("pixels", DataTypes.createArrayType(DataTypes.FloatType)));
    failsBeforeAnyJob(
        () ->
            Scorer.of(
                    ModelRef.parse("digits/1"),
                    Mappings.builder()
                        .input("image", InputMapping.tensor("pixels", 1, 4, 4))
                        .output("pooled", OutputMapping.meanPooled("probs", true))
                        .build())
                .transform(images),
        "output column `pooled` pools model output `probs` (float32 [-1, 3]) over its sequence, but"
            + " pooling takes a [batch, sequence, width] output");
  }

  @Test
  void aNullTextFailsTheActionNamingTheColumnAndTheRow() {
    List<Row> rows = List.of(RowFactory.create(4L, "fine", 0.0), RowFactory.create(5L, null, 0.0));
    Dataset<Row> scored =
        Scorer.of(ModelRef.parse("minilm/1"), embedding(16, true))
            .keys("id")
            .transform(spark.createDataFrame(rows, DOCS));
    assertThatThrownBy(scored::collectAsList)
        .hasMessageContaining(
            "Cannot score with model minilm/1: column `text` is null in the row with id=5; text input"
                + " `text` needs a string in every row.");
  }
}
