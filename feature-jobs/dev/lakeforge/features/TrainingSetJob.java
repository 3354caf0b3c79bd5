package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.FeatureSetRegistry;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.features.TrainingSetSpec.ResolvedSource;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.ColumnSpec;
import dev.lakeforge.lakehouse.JobRun;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Builds a training set ({@code lakeforge features training-set SPEC.yaml}): the spine joined point
 * in time ({@link PointInTimeJoin}) with each feature source — a registered feature set's table, or
 * any table — and written whole (overwrite) to the spec's output table, created or evolved first
 * from the join's schema.
 *
 * <p>Idempotent: a build's batch id is made of the training set, the sha256 of the spec ({@link
 * TrainingSetSpec#sha256}) and of every feature set it names, and the version of every table it
 * reads. When the commit that made the output table's current version carries that batch id, the
 * build writes nothing (no join runs, no new version) and says so ({@link Result#skipped}); a
 * changed spec, a re-applied feature set or a new version of any input rewrites it. A rebuild
 * overwrites the table as a new version, so earlier builds stay readable by time travel until
 * maintenance expires them. Only the current version counts: after a build from other inputs (or
 * any other commit, e.g. a compaction), the same build writes again. Its commit's batch id ends
 * with the version it replaced ({@code :over-v5}), since a batch id already in the history (Delta
 * keeps it as a transaction id) could not be committed twice.
 *
 * <p>Before anything is written: SELECT on every input and MODIFY on the output are checked, and
 * every column rule is checked on the schemas (no Spark job). The run is recorded ({@value #JOB})
 * with the exact version of each table read as lineage inputs, so {@link Builder#optAsOfVersions}
 * can rebuild the same rows later from a recorded run's versions (time travel), even after the
 * inputs changed. Such a rebuild refuses a feature set whose registered definition changed since
 * that run.
 */
public final class TrainingSetJob {
  /** The job name runs are recorded under. */
  public static final String JOB = "features.training-set";

  private static final String PARAM_FEATURE_SETS = "feature_sets";

  /** Ends a commit's batch id, before the version the commit replaced. */
  private static final String OVER = ":over-v";

  private final TrainingSetSpec spec;
  private final String source;
  private final Optional<String> asOfRun;

  private TrainingSetJob(Builder b) {
    this.spec = requireNonNull(b.spec, "spec is null");
    this.source = b.source;
    this.asOfRun = b.asOfRun;
  }

  /** A training-set build of {@code spec}. */
  public static Builder builder(TrainingSetSpec spec) {
    return new Builder(spec);
  }

  /** Builds a {@link TrainingSetJob}. */
  public static final class Builder {
    private final TrainingSetSpec spec;
    private String source;
    private Optional<String> asOfRun = Optional.empty();

    private Builder(TrainingSetSpec spec) {
      this.spec = spec;
      this.source = "training set " + (spec == null ? "?" : spec.name());
    }

    /** Where the spec was read from (its file), named in errors. */
    public Builder optSource(String source) {
      this.source = requireNonNull(source, "source is null");
      return this;
    }

    /** Reads every input at the version recorded run {@code runId} read. */
    public Builder optAsOfVersions(String runId) {
      this.asOfRun = Optional.of(requireNonNull(runId, "runId is null"));
      return this;
    }

    public TrainingSetJob build() {
      return new TrainingSetJob(this);
    }
  }

  /**
   * What a build did.
   *
   * @param runId the recorded run
   * @param table the training-set table
   * @param batchId the build's batch id: the training set, the spec's sha256 and the versions read
   * @param skipped true when the table's current version is this very build, so nothing was written
   * @param rowsWritten rows written (the spine's row count); 0 when skipped
   * @param tableVersion the version that holds the training set: the one the overwrite made, or
   *     when skipped the current one, which an earlier identical build made
   * @param versionsRead the version of each table read (spine first)
   * @param duration how long it took
   */
  public record Result(
      String runId,
      TableName table,
      String batchId,
      boolean skipped,
      long rowsWritten,
      OptionalLong tableVersion,
      Map<TableName, Long> versionsRead,
      Duration duration) {}

  public Result run(SparkSession spark) {
    long started = System.nanoTime();
    Lakehouse lh = Lakehouse.open(spark);
    Map<String, FeatureSetDefinition> sets = new LinkedHashMap<>();
    Function<String, Optional<FeatureSetSpec>> featureSets =
        name -> {
          Optional<FeatureSetDefinition> d = FeatureSetDefinition.find(lh, name);
          d.ifPresent(x -> sets.put(name, x));
          return d.map(FeatureSetDefinition::spec);
        };
    List<ResolvedSource> sources = spec.resolve(source, featureSets);
    LinkedHashSet<TableName> reads = new LinkedHashSet<>();
    reads.add(spec.spine().table());
    sources.forEach(s -> reads.add(s.table()));
    for (TableName t : reads) {
      if (lh.findSpec(t).isPresent()) {
        lh.require(Privilege.SELECT, t);
      }
    }
    Map<TableName, Long> versions = versions(lh, reads, sets);
    Map<TableName, StructType> schemas = new LinkedHashMap<>();
    for (TableName t : reads) {
      if (lh.findSpec(t).isPresent()) {
        schemas.put(t, lh.read(t, versions.get(t)).schema());
      }
    }
    spec.checkColumns(source, schemas::get, featureSets);
    lh.require(Privilege.MODIFY, spec.name());
    StructType output = join(sources, t -> lh.read(t, versions.get(t)).where(lit(false))).schema();
    new ApplyTablesJob(List.of(tableSpec(output)), Map.of(spec.name(), source)).run(spark);

    Map<String, String> params = new LinkedHashMap<>();
    params.put("training_set", spec.name().toString());
    asOfRun.ifPresent(r -> params.put("as_of_run", r));
    StringJoiner fs = new StringJoiner(",");
    sets.forEach((name, d) -> fs.add(name + "@" + d.sha256()));
    params.put(PARAM_FEATURE_SETS, fs.toString());
    return lh.run(
        JOB,
        params,
        List.copyOf(reads),
        List.of(spec.name()),
        run -> build(lh, run, sources, versions, batchId(versions, sets), started),
        TrainingSetJob::metrics);
  }

  private Result build(
      Lakehouse lh,
      JobRun run,
      List<ResolvedSource> sources,
      Map<TableName, Long> versions,
      String batch,
      long started) {
    SparkSession session = run.session();
    session.sparkContext().setJobDescription("features.training-set " + spec.name());
    try {
      Map<TableName, Dataset<Row>> data = new LinkedHashMap<>();
      for (TableName t : versions.keySet()) {
        data.put(t, run.read(t, OptionalLong.of(versions.get(t))));
      }
      Map<TableName, Long> read = Collections.unmodifiableMap(new LinkedHashMap<>(versions));
      long current = lh.currentVersion(spec.name());
      if (run.currentBatch(spec.name()).filter(b -> b.startsWith(batch + OVER)).isPresent()) {
        return new Result(
            run.id(),
            spec.name(),
            batch,
            true,
            0,
            OptionalLong.of(current),
            read,
            Duration.ofNanos(System.nanoTime() - started));
      }
      Dataset<Row> joined = join(sources, data::get).join();
      TableSpec table = lh.spec(spec.name());
      List<Column> columns = new ArrayList<>();
      List<String> names = List.of(joined.columns());
      for (ColumnSpec c : table.columns()) {
        columns.add(
            names.contains(c.name()) ? col(c.name()) : lit(null).cast(c.dataType()).as(c.name()));
      }
      String name = lh.sqlName(table);
      JobRun.Commit commit =
          run.commit(
              spec.name(),
              Optional.of(batch + OVER + current),
              () ->
                  joined
                      .select(columns.toArray(Column[]::new))
                      .write()
                      .mode("overwrite")
                      .insertInto(name));
      long rows = commit.skipped() ? 0 : session.table(name).count();
      return new Result(
          run.id(),
          spec.name(),
          batch,
          commit.skipped(),
          rows,
          commit.skipped() ? OptionalLong.of(lh.currentVersion(spec.name())) : commit.committed(),
          read,
          Duration.ofNanos(System.nanoTime() - started));
    } finally {
      session.sparkContext().setJobDescription(null);
    }
  }

  /**
   * The build's batch id: the training set, the sha256 of the spec together with each feature set's
   * registered definition, and every table read at its version (spine first), e.g. {@code
   * training-set:training.churn:spec-1f2e3d4c5b6a:shop.churn_spine@3,features.activity@7}.
   */
  private String batchId(Map<TableName, Long> versions, Map<String, FeatureSetDefinition> sets) {
    StringBuilder content = new StringBuilder(spec.sha256());
    sets.forEach((name, d) -> content.append('\n').append(name).append('@').append(d.sha256()));
    StringJoiner read = new StringJoiner(",");
    versions.forEach((t, v) -> read.add(t + "@" + v));
    return String.format(
        "training-set:%s:spec-%s:%s",
        spec.name(), FeatureSetRegistry.sha256(content.toString()).substring(0, 12), read);
  }

  private PointInTimeJoin join(
      List<ResolvedSource> sources, Function<TableName, Dataset<Row>> data) {
    PointInTimeJoin.Builder b =
        PointInTimeJoin.builder(
            new Spine(
                spec.spine().table().toString(),
                data.apply(spec.spine().table()),
                spec.spine().keys(),
                spec.spine().timestamp()));
    for (ResolvedSource s : sources) {
      b.add(
          new FeatureSource(
              s.describe(), data.apply(s.table()), s.keys(), s.timestamp(), s.ttl(), s.select()));
    }
    spec.timeBuckets().ifPresent(b::optTimeBuckets);
    try {
      return b.build();
    } catch (FeatureException e) {
      throw new SpecException(source + ": " + e.getMessage(), e);
    }
  }

  /**
   * The version of each table to read: the current ones, or those recorded run {@link #asOfRun}
   * read (every table must be among them, and no feature set may have changed since).
   */
  private Map<TableName, Long> versions(
      Lakehouse lh, LinkedHashSet<TableName> reads, Map<String, FeatureSetDefinition> sets) {
    Map<TableName, Long> out = new LinkedHashMap<>();
    if (asOfRun.isEmpty()) {
      for (TableName t : reads) {
        out.put(t, lh.findSpec(t).isPresent() ? lh.currentVersion(t) : -1L);
      }
      return out;
    }
    String id = asOfRun.get();
    RunLog.Run run =
        lh.runs()
            .find(id)
            .filter(r -> r.status().equals("succeeded"))
            .orElseThrow(
                () ->
                    new FeatureException(
                        String.format(
                            "--as-of-versions %s: no succeeded run has this id: give the id of a"
                                + " run that built a training set (lakeforge catalog runs).",
                            id)));
    Map<String, String> recorded = new TreeMap<>();
    for (Artifact a : lh.runs().inputs(id)) {
      if (a.kind() == Artifact.Kind.TABLE) {
        recorded.put(a.name(), a.version());
      }
    }
    for (TableName t : reads) {
      String v = recorded.get(t.toString());
      if (v == null) {
        throw new FeatureException(
            String.format(
                "--as-of-versions %s: run %s (%s) did not read %s, so its version is unknown:"
                    + " rebuild from a run of this training set (it read %s).",
                id, id, run.job(), t, recorded.isEmpty() ? "no table" : recorded.keySet()));
      }
      out.put(t, Long.parseLong(v));
    }
    Map<String, String> shas = new TreeMap<>();
    String then = run.parameters().getOrDefault(PARAM_FEATURE_SETS, "");
    for (String entry : then.split(",")) {
      int at = entry.indexOf('@');
      if (at > 0) {
        shas.put(entry.substring(0, at), entry.substring(at + 1));
      }
    }
    sets.forEach(
        (name, d) -> {
          String was = shas.get(name);
          if (was != null && !was.equals(d.sha256())) {
            throw new FeatureException(
                String.format(
                    "--as-of-versions %s: feature set %s has changed since that run (sha256 %s then,"
                        + " %s now), so its keys or ttl may differ: re-apply the definition it"
                        + " used, or build without --as-of-versions.",
                    id, name, was.substring(0, 12), d.sha256().substring(0, 12)));
          }
        });
    return out;
  }

  private TableSpec tableSpec(StructType output) {
    List<ColumnSpec> columns = new ArrayList<>();
    for (StructField f : output.fields()) {
      columns.add(ColumnSpec.of(f.name(), f.dataType().sql().toLowerCase(Locale.ROOT)));
    }
    return new TableSpec(
        spec.name(),
        spec.format(),
        Optional.of(
            "Training set: "
                + spec.spine().table()
                + " joined point in time with its features (lakeforge features training-set)."),
        columns,
        List.of(),
        List.of(),
        Map.of(),
        null,
        Optional.empty());
  }

  private static Map<String, ?> metrics(Result r) {
    Map<String, Object> m = new TreeMap<>();
    m.put("rows_written", r.rowsWritten());
    m.put("skipped", r.skipped());
    m.put("batch_id", r.batchId());
    Map<String, Object> versions = new TreeMap<>();
    r.versionsRead().forEach((t, v) -> versions.put(t.toString(), v));
    m.put("versions_read", versions);
    return m;
  }

  @Override
  public String toString() {
    return "training set " + spec.name() + asOfRun.map(r -> " as of run " + r).orElse("");
  }
}
