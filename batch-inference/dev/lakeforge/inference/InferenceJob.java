package dev.lakeforge.inference;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.GroupedRows;
import dev.lakeforge.core.SparkInternals;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.ColumnSpec;
import dev.lakeforge.lakehouse.JobRun;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.Progress;
import dev.lakeforge.lakehouse.TableSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression$;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores a lakehouse table with a registered model into an output table ({@code lakeforge infer
 * JOB.yaml}), exactly once per input row and model version, resumable after a kill.
 *
 * <p>Before anything is written it checks: SELECT on the input and MODIFY on the output; the input
 * table, its pinned version, the keys and the {@code where} filter (a deterministic condition on
 * the input's columns, no subquery); the model (EXECUTE, an alias resolved once for the whole run)
 * and the mappings against its signature and the input's schema. It then creates the output table
 * if missing (keys, output columns, {@code model_name}, {@code model_version}, {@code run_id},
 * {@code scored_at}).
 *
 * <p>The rows to score are the input rows (at the pinned version, filtered) whose keys have no
 * prediction of this model version in the output yet. They are split by a hash of the keys into
 * chunks of about {@code commit-rows} rows, and each chunk is one append to the output, committed
 * with a batch id made of the job, model version, input version and chunk: a chunk commits at most
 * once, so a retried or concurrently re-run chunk is skipped. With more than one chunk, one shuffle
 * ({@link GroupedRows}) puts each chunk's rows apart, so a run reads its input twice (counting,
 * then that shuffle) however many commits it makes. A killed job leaves whole chunks committed; run
 * again, it scores only the keys still missing. Rows appended to the input later are scored by the
 * next run; updated input rows are not scored again by the same model version and deleted ones keep
 * their prediction; a new model version (an alias moved) scores every row again.
 *
 * <p>One run of a job (by name) at a time: a run holds the job's {@link #claim()} in the catalog
 * from its start to its end, and a second run is refused at once, naming the running one. A run
 * whose process died frees the claim when it is marked abandoned (by the next command on its host).
 */
public record InferenceJob(InferenceJobSpec spec) {
  private static final Logger LOG = LoggerFactory.getLogger(InferenceJob.class);

  /** Job name in run records. */
  public static final String JOB = "infer";

  /** How often a running job logs its progress. */
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(10);

  public InferenceJob {
    Objects.requireNonNull(spec, "spec is null");
  }

  /**
   * What a run did.
   *
   * @param runId the run id (in the catalog, on every commit and every output row)
   * @param model the model version scored with, and the device
   * @param placement where the model ran, and why {@code device: auto} ran on the CPU when it did
   * @param inputVersion the input table version read
   * @param rowsScored predictions written by this run
   * @param commits commits made by this run
   * @param outputVersion the output table version after the run
   * @param elapsed wall time of the run
   * @param metrics batches, model loads per executor and load time, the device of each task
   * @param phases where the time went, in order: checks (access, model, mappings), counting (the
   *     rows to score, the key check), output (creating the table), commits (scoring and writing)
   */
  public record Result(
      String runId,
      ModelSpec model,
      Placement placement,
      long inputVersion,
      long rowsScored,
      int commits,
      long outputVersion,
      Duration elapsed,
      ScoringMetrics metrics,
      Map<String, Duration> phases) {

    /** Rows scored per second of wall time. */
    public double rowsPerSecond() {
      return rowsScored / Math.max(1e-9, elapsed.toNanos() / 1e9);
    }
  }

  /** Runs the job in {@code spark}'s lakehouse as its principal. */
  public Result run(SparkSession spark) {
    long t0 = System.nanoTime();
    Lakehouse lh = Lakehouse.open(spark);
    InferenceJobSpec.Input in = spec.input();
    TableName input = in.table();
    TableName output = spec.output().table();
    lh.spec(input);
    lh.require(Privilege.SELECT, input);
    lh.require(Privilege.MODIFY, output);
    // at once, before the counting; the run's start is what decides (in the catalog database)
    lh.runs().requireUnclaimed(claim());
    long inputVersion = in.version().orElseGet(() -> lh.currentVersion(input));

    // the input and output as the user's session sees them, so the access guard checks the plans
    Dataset<Row> population = narrow(filter(lh.read(input, inputVersion)));
    Scorer scorer = Scorer.of(spec.model(), spec.mappings()).runtime(spec.runtime());
    Scoring scoring = scorer.prepare(population, population);
    ModelSpec model = scoring.model();
    TableSpec outSpec = outputSpec(scoring.schema());
    OptionalLong outputVersion =
        lh.findSpec(output).isPresent()
            ? OptionalLong.of(lh.currentVersion(output))
            : OptionalLong.empty();
    Map<String, Duration> phases = new LinkedHashMap<>();
    long mark = System.nanoTime();
    phases.put("checks", Duration.ofNanos(mark - t0));
    Work work =
        split(
            todo(
                population,
                outputVersion.isPresent()
                    ? Optional.of(lh.read(output, outputVersion.getAsLong()))
                    : Optional.empty(),
                model));
    phases.put("counting", Duration.ofNanos(System.nanoTime() - mark));
    mark = System.nanoTime();
    new ApplyTablesJob(List.of(outSpec), Map.of(output, "job " + spec.name())).run(spark);
    phases.put("output", Duration.ofNanos(System.nanoTime() - mark));

    Map<String, String> params = new LinkedHashMap<>();
    params.put("job", spec.name());
    params.put("model", model.toString());
    params.put("input", input + "@" + inputVersion);
    params.put("output", output.toString());
    in.where().ifPresent(w -> params.put("where", w));
    return lh.runExclusive(
        claim(),
        JOB,
        params,
        List.of(input, output),
        List.of(output),
        run -> score(lh, run, scoring, inputVersion, outputVersion, work, phases, t0),
        InferenceJob::runMetrics);
  }

  /**
   * What one run at a time may do: run this job ({@code inference job <name>}). A second run of the
   * same job name is refused while one runs, also from another process on the same catalog, with a
   * {@link dev.lakeforge.catalog.RunClaimedException} naming the running run.
   */
  public String claim() {
    return "inference job " + spec.name();
  }

  /** The run record's metrics of {@code r}. */
  private static Map<String, Object> runMetrics(Result r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", r.rowsScored());
    m.put("rows_per_second", Math.round(r.rowsPerSecond()));
    m.put("commits", r.commits());
    m.put("batches", r.metrics().batches());
    m.put("model_loads", r.metrics().modelLoads());
    m.put("model_loads_by_executor", r.metrics().loadsByExecutor());
    m.put("model_load_ms", r.metrics().modelLoadMillis());
    m.put("device", r.model().device().label());
    if (!r.placement().note().isEmpty()) {
      m.put("device_note", r.placement().note());
    }
    m.put("tasks_by_device", r.metrics().tasksByDevice());
    m.put("seconds", r.elapsed().toMillis() / 1000.0);
    Map<String, Double> phases = new LinkedHashMap<>();
    r.phases().forEach((k, v) -> phases.put(k, v.toMillis() / 1000.0));
    m.put("seconds_by_phase", phases);
    return m;
  }

  /** Spreads keys over commits: a chunk is a set of buckets, so its rows are known up front. */
  static final int BUCKETS = 4096;

  /**
   * The rows to score and how they split into commits: {@code perChunk[i]} rows go into commit
   * {@code i}.
   */
  private record Work(long total, long[] perChunk) {
    int chunks() {
      return perChunk.length;
    }
  }

  private Result score(
      Lakehouse lh,
      JobRun run,
      Scoring scoring,
      long inputVersion,
      OptionalLong outputVersion,
      Work work,
      Map<String, Duration> phases,
      long t0) {
    long started = System.nanoTime();
    InferenceJobSpec.Input in = spec.input();
    TableName output = spec.output().table();
    ModelSpec model = scoring.model();
    run.input(Artifact.model(model.model(), model.version()));
    SparkSession session = run.session();
    Column[] keys = keys();
    // the same versions as counted before the run started, so the same rows
    Dataset<Row> todo =
        todo(
            narrow(filter(run.read(in.table(), OptionalLong.of(inputVersion)))),
            outputVersion.isPresent()
                ? Optional.of(run.read(output, outputVersion))
                : Optional.empty(),
            model);
    long total = work.total();
    int chunks = work.chunks();
    LOG.info(
        "Job {}: {} rows of {}@{} to score with model {} on {} in {} commit(s)",
        spec.name(),
        total,
        in.table(),
        inputVersion,
        model,
        model.device().label(),
        java.util.Arrays.stream(work.perChunk()).filter(n -> n > 0).count());

    List<Column> written = new ArrayList<>(List.of(keys));
    for (String c : spec.outputs().keySet()) {
      written.add(column(c));
    }
    written.add(lit(model.model()).as("model_name"));
    written.add(lit(model.version()).as("model_version"));
    written.add(lit(run.id()).as("run_id"));
    written.add(current_timestamp().as("scored_at"));
    String target = lh.sqlName(lh.spec(output));

    // With several commits, one shuffle puts each chunk's rows apart (the input and the output's
    // keys are read once); filtering the input per commit would read all of it per commit.
    Optional<GroupedRows> staged =
        chunks > 1
            ? Optional.of(
                GroupedRows.of(
                    todo, pmod(bucket(), lit(chunks)), chunks, keys, spread(session, chunks)))
            : Optional.empty();
    int commits = 0;
    long scored = 0;
    try (ProgressLog progress =
        ProgressLog.start(
            "Job " + spec.name(), total, () -> scoring.metrics().rows(), PROGRESS_EVERY)) {
      for (int i = 0; i < chunks; i++) {
        if (work.perChunk()[i] == 0) {
          continue;
        }
        Dataset<Row> rows = staged.isPresent() ? staged.get().group(i) : todo;
        Dataset<Row> chunk = scoring.apply(rows).select(written.toArray(Column[]::new));
        String batch =
            String.format("%s:%s:%s@%d:%d/%d", JOB, spec.name(), model, inputVersion, i, chunks);
        session
            .sparkContext()
            .setJobDescription(
                String.format("lakeforge infer %s: commit %d of %d", spec.name(), i + 1, chunks));
        JobRun.Commit c = run.commit(output, Optional.of(batch), () -> append(chunk, target));
        if (c.committed().isPresent()) {
          commits++;
          scored += work.perChunk()[i];
        }
        progress.committed(work.perChunk()[i]);
      }
    } finally {
      session.sparkContext().setJobDescription(null);
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
    phases.put("commits", Duration.ofNanos(System.nanoTime() - started));
    LOG.info(
        "Job {} done: {} rows in {} ({}), {} commit(s), {} batches; model {} on {} loaded {}"
            + " time(s) in {} ms; time in {}",
        spec.name(),
        scored,
        Progress.seconds(elapsed.toNanos()),
        Progress.rate(scored, elapsed.toNanos()),
        commits,
        scoring.metrics().batches(),
        model,
        model.device().label(),
        scoring.metrics().modelLoads(),
        scoring.metrics().modelLoadMillis(),
        phaseSummary(phases));
    return new Result(
        run.id(),
        model,
        scoring.placement(),
        inputVersion,
        scored,
        commits,
        lh.currentVersion(output),
        elapsed,
        scoring.metrics(),
        java.util.Collections.unmodifiableMap(new LinkedHashMap<>(phases)));
  }

  /** The rows of {@code input} whose keys have no prediction of {@code model} in {@code done}. */
  private Dataset<Row> todo(Dataset<Row> input, Optional<Dataset<Row>> output, ModelSpec model) {
    if (output.isEmpty()) {
      return input;
    }
    List<String> keyNames = spec.input().keys();
    List<Column> doneKeys = new ArrayList<>();
    for (int i = 0; i < keyNames.size(); i++) {
      doneKeys.add(column(keyNames.get(i)).as("__done_" + i));
    }
    Dataset<Row> done =
        output
            .get()
            .where(col("model_name").equalTo(model.model()))
            .where(col("model_version").equalTo(model.version()))
            .select(doneKeys.toArray(Column[]::new));
    Column same = null;
    for (int i = 0; i < keyNames.size(); i++) {
      Column eq = input.col(quoted(keyNames.get(i))).equalTo(done.col("__done_" + i));
      same = same == null ? eq : same.and(eq);
    }
    return input.join(done, same, "left_anti");
  }

  /**
   * Counts the rows to score per bucket of keys, in one aggregate that also proves the keys
   * identify the rows (no NULL, no key twice), and groups the buckets into commits of about {@code
   * commit-rows} rows.
   */
  private Work split(Dataset<Row> todo) {
    List<String> keyNames = spec.input().keys();
    SparkSession spark = todo.sparkSession();
    spark.sparkContext().setJobDescription("lakeforge infer " + spec.name() + ": rows to score");
    List<Row> buckets;
    try {
      buckets =
          todo.groupBy(keys())
              .agg(count(lit(1)).as("n"))
              .groupBy(bucket().as("bucket"))
              .agg(
                  sum("n").as("rows"),
                  max("n").as("most"),
                  sum(when(anyNull(keyNames), col("n")).otherwise(0L)).as("null_keys"))
              .collectAsList();
    } finally {
      spark.sparkContext().setJobDescription(null);
    }
    long total = 0;
    long nullKeys = 0;
    long most = 0;
    long[] perBucket = new long[BUCKETS];
    for (Row b : buckets) {
      perBucket[(int) b.getLong(0)] = b.getLong(1);
      total += b.getLong(1);
      most = Math.max(most, b.getLong(2));
      nullKeys += b.getLong(3);
    }
    if (nullKeys > 0) {
      throw new InferenceException(
          String.format(
              "job %s: %d rows of %s have a NULL in a key column (%s): keys must identify every"
                  + " row. Filter them out with `input.where` or fix the table.",
              spec.name(), nullKeys, spec.input().table(), String.join(", ", keyNames)));
    }
    if (most > 1) {
      throw new InferenceException(
          String.format(
              "job %s: keys (%s) do not identify the rows of %s: a key has %d rows. List the"
                  + " columns that make a row unique in `input.keys`.",
              spec.name(), String.join(", ", keyNames), spec.input().table(), most));
    }
    int chunks = (int) Math.max(1, Math.min(BUCKETS, ceilDiv(total, spec.output().commitRows())));
    long[] perChunk = new long[chunks];
    for (int b = 0; b < BUCKETS; b++) {
      perChunk[b % chunks] += perBucket[b];
    }
    return new Work(total, perChunk);
  }

  private Column[] keys() {
    return spec.input().keys().stream().map(InferenceJob::column).toArray(Column[]::new);
  }

  /**
   * How many tasks score one chunk: the cluster's default parallelism, fewer when there are so many
   * chunks that the shuffle's partitions would pass {@value #MAX_SHUFFLE_PARTITIONS}.
   */
  private static int spread(SparkSession session, int chunks) {
    int parallelism = Math.max(1, session.sparkContext().defaultParallelism());
    return Math.max(1, Math.min(parallelism, MAX_SHUFFLE_PARTITIONS / chunks));
  }

  /** The most shuffle partitions the chunks of a run take (each map task indexes them all). */
  static final int MAX_SHUFFLE_PARTITIONS = 65_536;

  /** A row's bucket, from its keys: {@code pmod(xxhash64(keys), BUCKETS)}. */
  private Column bucket() {
    return pmod(xxhash64(keys()), lit(BUCKETS));
  }

  /**
   * Only the columns the job uses: the keys and the mapped columns, in the table's order. A wide
   * table is scanned for those columns only, and scoring copies no other column. A key or mapped
   * column the table lacks is an error naming it and the table's columns.
   */
  private Dataset<Row> narrow(Dataset<Row> table) {
    checkKeys(table.schema());
    Set<String> used = new java.util.HashSet<>(spec.input().keys());
    List<String> columns = Arrays.asList(table.columns());
    spec.mappings()
        .inputs()
        .forEach(
            (name, m) -> {
              for (String c : m.columns()) {
                if (!columns.contains(c)) {
                  throw new InferenceException(
                      String.format(
                          "job %s: input `%s` maps column `%s`, which %s does not have (columns: %s)."
                              + " Fix the mapping or add the column.",
                          spec.name(), name, c, spec.input().table(), String.join(", ", columns)));
                }
                used.add(c);
              }
            });
    Column[] kept =
        Arrays.stream(table.columns())
            .filter(used::contains)
            .map(InferenceJob::column)
            .toArray(Column[]::new);
    return table.select(kept);
  }

  /**
   * The input at {@code version} in {@code spark}, filtered by {@code input.where}: a deterministic
   * condition on the input's own columns (no subquery, which could read other tables past the job's
   * checks).
   */
  private Dataset<Row> filter(Dataset<Row> table) {
    Optional<String> where = spec.input().where();
    if (where.isEmpty()) {
      return table;
    }
    Dataset<Row> filtered;
    try {
      filtered = table.where(where.get());
    } catch (Exception e) { // Spark's AnalysisException and ParseException are checked in Java
      throw new InferenceException(
          String.format(
              "job %s: `input.where` (%s) is not a condition on the columns of %s: %s",
              spec.name(), where.get(), spec.input().table(), firstLine(e.getMessage())),
          e);
    }
    LogicalPlan plan = SparkInternals.plan(filtered);
    Expression condition = plan instanceof Filter f ? f.condition() : null;
    if (condition == null
        || SubqueryExpression$.MODULE$.hasSubquery(condition)
        || !condition.deterministic()) {
      throw new InferenceException(
          String.format(
              "job %s: `input.where` (%s) must be a deterministic condition on the columns of %s,"
                  + " without subqueries: the rows it selects are scored exactly once, by key.",
              spec.name(), where.get(), spec.input().table()));
    }
    return filtered;
  }

  private void checkKeys(StructType schema) {
    for (String k : spec.input().keys()) {
      if (!java.util.Arrays.asList(schema.fieldNames()).contains(k)) {
        throw new InferenceException(
            String.format(
                "job %s: key column `%s` is not a column of %s (columns: %s). Fix `input.keys`.",
                spec.name(), k, spec.input().table(), String.join(", ", schema.fieldNames())));
      }
    }
  }

  /**
   * The output table: the keys (types from the input), the output columns (types from the plan),
   * then the columns the job adds.
   */
  private TableSpec outputSpec(StructType scored) {
    List<ColumnSpec> columns = new ArrayList<>();
    try {
      for (String k : spec.input().keys()) {
        columns.add(ColumnSpec.of(k, ddl(scored.apply(k))));
      }
      for (String o : spec.outputs().keySet()) {
        columns.add(ColumnSpec.of(o, ddl(scored.apply(o))));
      }
      columns.add(ColumnSpec.of("model_name", "string"));
      columns.add(ColumnSpec.of("model_version", "int"));
      columns.add(ColumnSpec.of("run_id", "string"));
      columns.add(ColumnSpec.of("scored_at", "timestamp"));
      return new TableSpec(
          spec.output().table(),
          spec.output().format(),
          Optional.of("Predictions of inference job " + spec.name()),
          columns,
          List.of(),
          List.of(),
          Map.of(),
          null,
          Optional.empty());
    } catch (dev.lakeforge.core.SpecException e) {
      throw new InferenceException(
          String.format(
              "job %s: cannot make output table %s: %s",
              spec.name(), spec.output().table(), e.getMessage()),
          e);
    }
  }

  private static String ddl(StructField f) {
    return f.dataType().sql().toLowerCase(java.util.Locale.ROOT);
  }

  private static void append(Dataset<Row> rows, String table) {
    try {
      rows.writeTo(table).append();
    } catch (org.apache.spark.sql.catalyst.analysis.NoSuchTableException e) {
      throw new InferenceException("output table " + table + " disappeared during the job", e);
    }
  }

  private static Column anyNull(List<String> keys) {
    Column c = lit(false);
    for (String k : keys) {
      c = c.or(column(k).isNull());
    }
    return c;
  }

  private static Column column(String name) {
    return col(quoted(name));
  }

  private static String quoted(String name) {
    return "`" + name.replace("`", "``") + "`";
  }

  private static String phaseSummary(Map<String, Duration> phases) {
    StringBuilder b = new StringBuilder();
    phases.forEach(
        (k, v) ->
            b.append(b.length() == 0 ? "" : ", ")
                .append(k)
                .append(' ')
                .append(Progress.seconds(v.toNanos())));
    return b.toString();
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
