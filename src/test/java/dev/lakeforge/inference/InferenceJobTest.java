package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.Lineage;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.RunClaimedException;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import dev.lakeforge.testing.TaskTotals;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code lakeforge infer}'s job on real Delta and Iceberg tables: predictions equal ONNX Runtime's
 * for the same rows, one row per input row and model version whatever happens (a run that fails
 * midway, a re-run, appended rows, a new model version), lineage and metrics recorded, and every
 * refusal before anything is written.
 */
class InferenceJobTest extends SparkTestBase {
  private static final StructType CUSTOMERS = TestModels.CUSTOMERS;

  @TempDir static Path models;
  private static TestModels.Churn churn;
  private static ModelVersion v1;

  @BeforeAll
  static void trainAndRegister() throws Exception {
    churn = TestModels.trainChurn(models, 500);
    v1 = TestModels.register(spark, "churn", churn.onnx());
    TestModels.registry(spark).alias("churn", "champion", v1.version(), Identity.current());
  }

  /** Customers {@code from} until {@code to}; no nulls among the features. */
  private static List<Row> customers(long from, long to) {
    Random random = new Random(from);
    List<Row> rows = new ArrayList<>();
    for (long id = from; id < to; id++) {
      rows.add(
          RowFactory.create(
              id,
              random.nextInt(10),
              random.nextDouble() * 50,
              (long) random.nextInt(60),
              id % 2 == 0 ? "DE" : "FR"));
    }
    return rows;
  }

  private static TableName inputTable(TableFormat f, String name, List<Row> rows) {
    TableSpec spec =
        YamlSpecReader.parse(
            """
            name: infer_%s.%s
            format: %s
            columns:
              - {name: customer_id, type: bigint}
              - {name: orders_7d, type: int}
              - {name: spend_30d, type: double}
              - {name: days_since_last, type: bigint}
              - {name: country, type: string}
            """
                .formatted(f.label(), name, f.label()),
            TableSpec.class,
            "test spec");
    new ApplyTablesJob(List.of(spec)).run(spark);
    append(spec.name(), rows);
    return spec.name();
  }

  private static void append(TableName t, List<Row> rows) {
    Lakehouse lh = Lakehouse.open(spark);
    try {
      spark.createDataFrame(rows, CUSTOMERS).writeTo(lh.sqlName(lh.spec(t))).append();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static InferenceJobSpec job(TableFormat f, TableName input, String output, String extra) {
    return job(f, input, output, extra, 100);
  }

  /** A job committing about {@code commitRows} predictions per commit. */
  private static InferenceJobSpec job(
      TableFormat f, TableName input, String output, String extra, int commitRows) {
    return InferenceJobSpec.parse(jobYaml(f, input, output, extra, commitRows), "test job");
  }

  /** The spec text of {@link #job(TableFormat, TableName, String, String, int)}. */
  private static String jobYaml(
      TableFormat f, TableName input, String output, String extra, int commitRows) {
    return """
        name: score_%s
        model: churn@champion
        input: {table: %s, keys: [customer_id]%s}
        inputs:
          input: {columns: [%s], nulls: error}
        outputs:
          probability: {from: output, index: %d}
          label: {from: output, argmax: true, labels: [%s]}
        output: {table: %s, format: %s, commit-rows: %d}
        runtime: {batch-size: 16}
        """
        .formatted(
            output.replace('.', '_'),
            input,
            extra,
            String.join(", ", churn.features()),
            churn.index("churns"),
            String.join(", ", churn.labels()),
            output,
            f.label(),
            commitRows);
  }

  private static List<Row> output(TableName t) {
    Lakehouse lh = Lakehouse.open(spark);
    return spark
        .sql(
            "SELECT customer_id, probability, label, model_name, model_version, run_id FROM "
                + lh.sqlName(lh.spec(t))
                + " ORDER BY customer_id, model_version")
        .collectAsList();
  }

  /** What ONNX Runtime gives for {@code rows} outside Spark: P(churns) by customer id. */
  private static Map<Long, Float> reference(List<Row> rows) throws Exception {
    float[][] features = new float[rows.size()][];
    for (int r = 0; r < rows.size(); r++) {
      float[] x = new float[churn.features().size()];
      for (int j = 0; j < x.length; j++) {
        x[j] =
            ((Number) rows.get(r).get(CUSTOMERS.fieldIndex(churn.features().get(j)))).floatValue();
      }
      features[r] = x;
    }
    float[][] p = TestModels.run(churn.onnx(), "input", "output", features, 3);
    Map<Long, Float> out = new HashMap<>();
    for (int r = 0; r < rows.size(); r++) {
      out.put(rows.get(r).getLong(0), p[r][churn.index("churns")]);
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void scoresEveryRowOnceWithOnnxRuntimesPredictionsAndRecordsTheRun(TableFormat f)
      throws Exception {
    List<Row> rows = customers(0, 200);
    TableName in = inputTable(f, "customers", rows);
    TableName out = TableName.parse("preds_" + f.label() + ".churn");

    InferenceJob.Result r = new InferenceJob(job(f, in, out.toString(), "")).run(spark);

    assertThat(r.rowsScored()).isEqualTo(200);
    assertThat(r.commits()).as("200 rows in commits of about 100").isEqualTo(2);
    assertThat(r.model().toString()).isEqualTo("churn/" + v1.version());
    assertThat(r.metrics().modelLoads()).as("once in this JVM").isLessThanOrEqualTo(1);
    assertThat(ModelCache.loads(r.model().key()))
        .as("loaded exactly once in this JVM, by this run or an earlier one")
        .isEqualTo(1);
    Map<Long, Float> expected = reference(rows);
    List<Row> scored = output(out);
    assertThat(scored).hasSize(200);
    for (Row row : scored) {
      assertThat(row.getFloat(1))
          .as("customer %d", row.getLong(0))
          .isCloseTo(expected.get(row.getLong(0)), within(1e-6f));
      assertThat(row.getString(2))
          .isEqualTo(
              churn
                  .labels()
                  .get(row.getFloat(1) > 0.5f ? churn.index("churns") : churn.index("stays")));
      assertThat(row.getString(3)).isEqualTo("churn");
      assertThat(row.getInt(4)).isEqualTo(v1.version());
      assertThat(row.getString(5)).isEqualTo(r.runId());
    }

    Lakehouse lh = Lakehouse.open(spark);
    RunLog.Run run =
        lh.runs().recent(50).stream()
            .filter(x -> x.id().equals(r.runId()))
            .findFirst()
            .orElseThrow();
    assertThat(run.job()).isEqualTo("infer");
    assertThat(run.status()).isEqualTo("succeeded");
    assertThat(run.metrics())
        .contains(
            "\"rows\":200",
            "\"device\":\"cpu\"",
            "\"device_note\":\"device auto runs on the CPU: Spark assigns no GPUs to tasks in local"
                + " mode (master local[2])",
            "\"tasks_by_device\":{\"cpu\":");
    assertThat(
            new Lineage(lh.catalog())
                    .walk(
                        Artifact.table(out.toString(), r.outputVersion()),
                        Lineage.Direction.UPSTREAM)
                    .stream()
                    .filter(e -> e.runId().equals(r.runId()))
                    .map(Lineage.Edge::from))
        .contains(
            Artifact.table(in.toString(), r.inputVersion()), Artifact.model("churn", v1.version()));
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aRerunWritesNothingAndAppendedRowsAloneAreScoredNext(TableFormat f) {
    TableName in = inputTable(f, "growing", customers(0, 100));
    TableName out = TableName.parse("preds_" + f.label() + ".growing");
    InferenceJobSpec spec = job(f, in, out.toString(), "");
    InferenceJob.Result first = new InferenceJob(spec).run(spark);

    InferenceJob.Result again = new InferenceJob(spec).run(spark);
    assertThat(again.rowsScored()).isZero();
    assertThat(again.commits()).isZero();
    assertThat(again.outputVersion()).isEqualTo(first.outputVersion());

    append(in, customers(100, 130));
    InferenceJob.Result next = new InferenceJob(spec).run(spark);
    assertThat(next.rowsScored()).isEqualTo(30);
    List<Row> scored = output(out);
    assertThat(scored).hasSize(130);
    assertThat(
            scored.stream().filter(r -> r.getString(5).equals(next.runId())).map(r -> r.getLong(0)))
        .containsExactlyInAnyOrderElementsOf(
            customers(100, 130).stream().map(r -> r.getLong(0)).toList());
  }

  /**
   * A run of many commits reads its input twice, whatever the number of commits: once to count the
   * rows to score, once for one shuffle that puts each commit's rows apart. Filtering the input per
   * commit would read it once per commit (here 5 + 1 times).
   */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aRunOfManyCommitsReadsItsInputTwiceNotOncePerCommit(TableFormat f) {
    int n = 2_000;
    TableName in = inputTable(f, "wide", customers(0, n));
    TableName out = TableName.parse("preds_" + f.label() + ".wide");

    TaskTotals.Measured<InferenceJob.Result> run =
        TaskTotals.of(
            spark, () -> new InferenceJob(job(f, in, out.toString(), "", 400)).run(spark));

    assertThat(run.value().commits()).isEqualTo(5);
    assertThat(output(out).stream().map(r -> r.getLong(0)).distinct()).hasSize(n);
    // the rest of what is read: the tables' own logs and metadata, a few hundred rows
    assertThat(run.totals().inputRows).as("rows read by the run").isBetween(2L * n, 3L * n);
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aRunThatFailsMidwayKeepsItsCommitsAndTheNextRunScoresOnlyTheRest(TableFormat f) {
    List<Row> rows = new ArrayList<>(customers(0, 200));
    // one row that fails the model's input (nulls: error), in the last of the run's commits
    long bad = lastChunkKey(200, 5);
    int at = (int) bad;
    Row r0 = rows.get(at);
    rows.set(at, RowFactory.create(r0.get(0), null, r0.get(2), r0.get(3), r0.get(4)));
    TableName in = inputTable(f, "flaky", rows);
    TableName out = TableName.parse("preds_" + f.label() + ".flaky");
    InferenceJobSpec spec = job(f, in, out.toString(), "", 40);

    assertThatThrownBy(() -> new InferenceJob(spec).run(spark))
        .hasStackTraceContaining("orders_7d")
        .hasStackTraceContaining("says nulls: error");
    List<Row> partial = output(out);
    assertThat(partial).as("the commits before the failing one stay").hasSizeBetween(100, 199);
    String failedRun = partial.get(0).getString(5);

    Lakehouse lh = Lakehouse.open(spark);
    lh.sql("UPDATE " + lh.sqlName(lh.spec(in)) + " SET orders_7d = 1 WHERE customer_id = " + bad);
    InferenceJob.Result rest = new InferenceJob(spec).run(spark);

    List<Row> scored = output(out);
    assertThat(scored).hasSize(200);
    assertThat(scored.stream().map(r -> r.getLong(0)).distinct()).hasSize(200);
    assertThat(rest.rowsScored()).isEqualTo(200 - partial.size());
    assertThat(scored.stream().filter(r -> r.getString(5).equals(failedRun)))
        .hasSize(partial.size());
  }

  /** A customer id below {@code n} whose bucket goes into the last of {@code chunks} commits. */
  private static long lastChunkKey(long n, int chunks) {
    return spark
        .range(n)
        .where(
            "pmod(pmod(xxhash64(id), "
                + InferenceJob.BUCKETS
                + "), "
                + chunks
                + ") = "
                + (chunks - 1))
        .first();
  }

  @Test
  void aNewModelVersionScoresEveryRowAgainWhileUpdatesAndDeletesKeepTheirPrediction()
      throws Exception {
    TableFormat f = TableFormat.DELTA;
    TableName in = inputTable(f, "evolving", customers(0, 60));
    TableName out = TableName.parse("preds_delta.evolving");
    InferenceJobSpec spec = job(f, in, out.toString(), "");
    new InferenceJob(spec).run(spark);
    Lakehouse lh = Lakehouse.open(spark);
    String inSql = lh.sqlName(lh.spec(in));

    lh.sql("UPDATE " + inSql + " SET days_since_last = 59 WHERE customer_id = 3");
    lh.sql("DELETE FROM " + inSql + " WHERE customer_id = 4");
    InferenceJob.Result same = new InferenceJob(spec).run(spark);
    assertThat(same.rowsScored())
        .as("a key scored by this model version is not scored again")
        .isZero();
    assertThat(output(out).stream().map(r -> r.getLong(0))).contains(4L).hasSize(60);

    Path retrained = TestModels.trainChurn(models.resolve("v2"), 300).onnx();
    ModelVersion v2 = TestModels.register(spark, "churn", retrained);
    TestModels.registry(spark).alias("churn", "champion", v2.version(), Identity.current());
    InferenceJob.Result moved = new InferenceJob(spec).run(spark);

    assertThat(moved.model().version()).isEqualTo(v2.version());
    assertThat(moved.rowsScored()).as("59 rows left after the delete").isEqualTo(59);
    List<Row> scored = output(out);
    assertThat(scored.stream().filter(r -> r.getInt(4) == v2.version())).hasSize(59);
    assertThat(scored.stream().filter(r -> r.getInt(4) == v1.version())).hasSize(60);
    TestModels.registry(spark).alias("churn", "champion", v1.version(), Identity.current());
  }

  @Test
  void keysThatDoNotIdentifyRowsAreRefusedBeforeTheOutputExists() {
    List<Row> rows = new ArrayList<>(customers(0, 20));
    rows.add(customers(5, 6).get(0));
    TableName in = inputTable(TableFormat.DELTA, "dupes", rows);
    Lakehouse lh = Lakehouse.open(spark);

    assertThatThrownBy(
            () -> new InferenceJob(job(TableFormat.DELTA, in, "preds_delta.dupes", "")).run(spark))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "job score_preds_delta_dupes: keys (customer_id) do not identify the rows of "
                + in
                + ": a key has 2 rows. List the columns that make a row unique in `input.keys`.");
    assertThat(lh.findSpec(TableName.parse("preds_delta.dupes"))).isEmpty();
  }

  @Test
  void aMappedColumnOrKeyTheInputLacksIsNamedWithTheTablesColumns() {
    TableName in = inputTable(TableFormat.DELTA, "lacking", customers(0, 10));
    Lakehouse lh = Lakehouse.open(spark);
    String columns = String.join(", ", spark.table(lh.sqlName(lh.spec(in))).columns());

    assertThatThrownBy(() -> new InferenceJob(lacking(in, "customer_id", "spend_90d")).run(spark))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "job lacking: input `input` maps column `spend_90d`, which "
                + in
                + " does not have (columns: "
                + columns
                + "). Fix the mapping or add the column.");
    assertThatThrownBy(() -> new InferenceJob(lacking(in, "id", "spend_30d")).run(spark))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "job lacking: key column `id` is not a column of "
                + in
                + " (columns: "
                + columns
                + "). Fix `input.keys`.");
    assertThat(lh.findSpec(TableName.parse("preds_delta.lacking"))).isEmpty();
  }

  /** A job keyed by {@code key} whose mapping reads {@code orders_7d, spend, days_since_last}. */
  private static InferenceJobSpec lacking(TableName in, String key, String spend) {
    return InferenceJobSpec.parse(
        """
        name: lacking
        model: churn@champion
        input: {table: %s, keys: [%s]}
        inputs:
          input: {columns: [orders_7d, %s, days_since_last], nulls: zero}
        outputs:
          probability: {from: output, index: 1}
        output: {table: preds_delta.lacking}
        """
            .formatted(in, key, spend),
        "test job");
  }

  @Test
  void aFilterWithASubqueryIsRefusedAndAPlainOneSelectsTheRowsScored() {
    TableName in = inputTable(TableFormat.DELTA, "filtered", customers(0, 50));
    Lakehouse lh = Lakehouse.open(spark);
    String inSql = lh.sqlName(lh.spec(in));

    assertThatThrownBy(
            () ->
                new InferenceJob(
                        job(
                            TableFormat.DELTA,
                            in,
                            "preds_delta.sneaky",
                            ", where: \"customer_id IN (SELECT customer_id FROM " + inSql + ")\""))
                    .run(spark))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining(
            "must be a deterministic condition on the columns of " + in + ", without subqueries");
    assertThatThrownBy(
            () ->
                new InferenceJob(
                        job(
                            TableFormat.DELTA,
                            in,
                            "preds_delta.sneaky",
                            ", where: \"rand() < 0.5\""))
                    .run(spark))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining("must be a deterministic condition");
    assertThat(lh.findSpec(TableName.parse("preds_delta.sneaky"))).isEmpty();

    InferenceJob.Result de =
        new InferenceJob(
                job(TableFormat.DELTA, in, "preds_delta.german", ", where: \"country = 'DE'\""))
            .run(spark);
    assertThat(de.rowsScored()).isEqualTo(25);
    assertThat(output(TableName.parse("preds_delta.german")))
        .allSatisfy(r -> assertThat(r.getLong(0) % 2).isZero());
  }

  @Test
  void modifyOnTheOutputIsRequiredBeforeAnythingRuns() {
    TableName in = inputTable(TableFormat.DELTA, "guarded", customers(0, 10));
    Lakehouse lh = Lakehouse.open(spark);
    new AccessControl(lh.catalog())
        .grant(lh.principal(), Privilege.SELECT, "table:" + in, "scorer", false);
    new AccessControl(lh.catalog())
        .grant(lh.principal(), Privilege.EXECUTE, "model:churn", "scorer", false);
    spark.conf().set(Principal.SPARK_CONF, "scorer");
    try {
      assertThatThrownBy(
              () ->
                  new InferenceJob(job(TableFormat.DELTA, in, "preds_delta.guarded", ""))
                      .run(spark))
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageContaining(
              "principal scorer does not hold MODIFY on table:preds_delta.guarded");
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
    assertThat(lh.findSpec(TableName.parse("preds_delta.guarded"))).isEmpty();
  }

  @Test
  void aSecondRunOfTheJobIsRefusedAtOnceWhileOneRunsAndTheCliPrintsTheDeviceNote()
      throws Exception {
    TableName in = inputTable(TableFormat.DELTA, "held", customers(0, 40));
    TableName out = TableName.parse("preds_delta.held");
    Path file =
        write(
            home.resolve("jobs"),
            "held.yaml",
            jobYaml(TableFormat.DELTA, in, out.toString(), "", 100));
    InferenceJob job = new InferenceJob(InferenceJobSpec.read(file));
    Lakehouse lh = Lakehouse.open(spark);
    // a running run of the job by a live process (this one), as another `lakeforge infer` holds it
    RunLog.Recording running =
        lh.runs()
            .start(
                InferenceJob.JOB,
                lh.principal(),
                Map.of("job", job.spec().name()),
                List.of(),
                Optional.of(job.claim()));
    String started = lh.runs().find(running.id()).orElseThrow().startedAt().toString();

    assertThatThrownBy(() -> job.run(spark))
        .isInstanceOf(RunClaimedException.class)
        .hasMessageContainingAll(
            "Cannot start inference job score_preds_delta_held: run "
                + running.id()
                + " is still running it (started "
                + started
                + " by "
                + lh.principal().name()
                + ", pid "
                + ProcessHandle.current().pid()
                + " on host ",
            "only one run at a time may. Wait for that run to end, or stop it, then start again.",
            "lakeforge catalog runs --abandon " + running.id());
    assertThat(lh.findSpec(out)).as("refused before the output was made").isEmpty();
    CliRun refused = CliRun.run(home, "infer", file.toString());
    assertThat(refused.code()).as(refused.toString()).isEqualTo(1);
    assertThat(refused.err())
        .as(refused.toString())
        .contains(
            "Cannot start inference job score_preds_delta_held: run "
                + running.id()
                + " is still running it");

    running.failed(new IllegalStateException("stopped by the test"));
    CliRun scored = CliRun.run(home, "infer", file.toString());
    assertThat(scored.code()).as(scored.toString()).isZero();
    assertThat(scored.out())
        .as("the summary says why device auto ran on the CPU")
        .contains(
            "Model churn/"
                + v1.version()
                + ": device auto runs on the CPU: Spark assigns no GPUs to tasks in local mode"
                + " (master local[2])");
    assertThat(output(out)).hasSize(40);
  }
}
