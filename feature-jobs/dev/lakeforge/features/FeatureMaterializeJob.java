package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.JobRun;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.storage.StorageLevel;

/**
 * Materializes a registered feature set ({@code lakeforge features materialize NAME}): for every
 * entity and every grain boundary {@code b} in {@code [from, to)} with an event in the longest
 * window, the feature values as of {@code b} (each window is {@code (b - window, b]}), MERGEd into
 * the feature table on the keys and {@code feature_ts}. Rows of the range that the source no longer
 * supports are deleted, so after a run the range holds exactly what the source at the version read
 * says.
 *
 * <ul>
 *   <li>Idempotent: the commit carries a batch id made of the feature set, the range, the source
 *       version read and the definition's sha256; running the same range on the same source version
 *       writes nothing (no new table version).
 *   <li>Late data: rows added to the source later make a new source version, so re-running the
 *       range recomputes and MERGEs it.
 *   <li>Incremental: without {@code from}, it starts where the last successful materialization of
 *       the feature set stopped (its {@code to}); without {@code to}, it ends after the last
 *       boundary at or before now.
 *   <li>Reads only {@code (from - longest window, last boundary]} of the source: the bound is a
 *       filter on the event-time column that the table scan pushes down.
 * </ul>
 *
 * Each run is recorded ({@value #JOB}) with the source version read (lineage), the range, the rows
 * written and, per feature, the count, nulls, min, max and mean of the values computed, which
 * {@link #last} reads back. Needs SELECT on the source and MODIFY on the feature table.
 */
public final class FeatureMaterializeJob {
  /** The job name runs are recorded under. */
  public static final String JOB = "features.materialize";

  private final String featureSet;
  private final Optional<Instant> from;
  private final Optional<Instant> to;
  private final Clock clock;

  private FeatureMaterializeJob(Builder b) {
    this.featureSet = requireNonNull(b.featureSet, "featureSet is null");
    this.from = b.from;
    this.to = b.to;
    this.clock = b.clock;
    if (from.isPresent() && to.isPresent() && !from.get().isBefore(to.get())) {
      throw new FeatureException(
          String.format(
              "feature set %s: --from %s is not before --to %s: give a range that holds at"
                  + " least one boundary.",
              featureSet, from.get(), to.get()));
    }
  }

  /** A materialization of feature set {@code featureSet}; the range is optional. */
  public static Builder builder(String featureSet) {
    return new Builder(featureSet);
  }

  /** Builds a {@link FeatureMaterializeJob}. */
  public static final class Builder {
    private final String featureSet;
    private Optional<Instant> from = Optional.empty();
    private Optional<Instant> to = Optional.empty();
    private Clock clock = Clock.systemUTC();

    private Builder(String featureSet) {
      this.featureSet = featureSet;
    }

    /** The first boundary (rounded up to the grain); default: where the last run stopped. */
    public Builder optFrom(Instant from) {
      this.from = Optional.of(requireNonNull(from, "from is null"));
      return this;
    }

    /** The end of the range, exclusive; default: just after the last boundary at or before now. */
    public Builder optTo(Instant to) {
      this.to = Optional.of(requireNonNull(to, "to is null"));
      return this;
    }

    /** The clock the default end is read from. */
    public Builder optClock(Clock clock) {
      this.clock = requireNonNull(clock, "clock is null");
      return this;
    }

    public FeatureMaterializeJob build() {
      return new FeatureMaterializeJob(this);
    }
  }

  /**
   * Statistics of one feature's values in a materialization.
   *
   * @param count non-null values
   * @param nulls null values
   * @param min the smallest value, as text; empty when all are null
   * @param max the largest value, as text
   * @param mean the mean, for a numeric feature with values
   */
  public record FeatureStats(
      long count, long nulls, Optional<String> min, Optional<String> max, OptionalDouble mean) {}

  /**
   * What a materialization did.
   *
   * @param runId the recorded run; empty when there was nothing to do (already up to date)
   * @param featureSet the feature set
   * @param table its feature table
   * @param from the first boundary
   * @param to the end of the range, exclusive
   * @param sourceVersion the source table version read
   * @param rowsWritten feature rows computed and merged (0 when skipped)
   * @param skipped true when this range was already materialized from this source version
   * @param tableVersion the feature table version the run committed; empty if none
   * @param stats per feature, in spec order
   * @param duration how long it took
   */
  public record Result(
      Optional<String> runId,
      String featureSet,
      TableName table,
      Instant from,
      Instant to,
      long sourceVersion,
      long rowsWritten,
      boolean skipped,
      OptionalLong tableVersion,
      Map<String, FeatureStats> stats,
      Duration duration) {}

  /**
   * A recorded materialization, as {@link #last} reads it back.
   *
   * @param runId the run
   * @param endedAt when it ended
   * @param from its first boundary
   * @param to its end, exclusive (where the next incremental run starts)
   * @param sourceVersion the source version read
   * @param rowsWritten feature rows written
   * @param stats per feature
   */
  public record Materialization(
      String runId,
      Instant endedAt,
      Instant from,
      Instant to,
      long sourceVersion,
      long rowsWritten,
      Map<String, FeatureStats> stats) {}

  /** The last successful materialization of {@code featureSet}, if any. */
  public static Optional<Materialization> last(Lakehouse lh, String featureSet) {
    return lh.runs()
        .lastSucceeded(JOB, PARAM_FEATURE_SET, featureSet)
        .map(FeatureMaterializeJob::read);
  }

  public Result run(SparkSession spark) {
    long started = System.nanoTime();
    Lakehouse lh = Lakehouse.open(spark);
    FeatureSetDefinition def = FeatureSetDefinition.registered(lh, featureSet);
    FeatureSetSpec spec = def.spec();
    TableName source = spec.source().table();
    TableName target = spec.output().table();
    TableSpec sourceSpec = lh.spec(source);
    FeatureComputation computation =
        FeatureComputation.check(spec, def.source(), sourceSpec.schema(), spark);

    long g = FeatureComputation.micros(spec.grain().width());
    Optional<Materialization> previous = from.isPresent() ? Optional.empty() : last(lh, featureSet);
    long fromMicros =
        ceil(
            micros(
                from.or(() -> previous.map(Materialization::to))
                    .orElseThrow(
                        () ->
                            new FeatureException(
                                String.format(
                                    "feature set %s has never been materialized: give the first"
                                        + " boundary with --from (e.g. --from 2024-01-01T00:00:00Z);"
                                        + " later runs continue from where the last one stopped.",
                                    featureSet)))),
            g);
    long toMicros =
        to.map(t -> ceil(micros(t), g))
            .orElseGet(() -> Math.floorDiv(micros(clock.instant()), g) * g + g);
    Instant fromInstant = instant(fromMicros);
    Instant toInstant = instant(toMicros);
    if (fromMicros >= toMicros) {
      if (from.isPresent()) {
        throw new FeatureException(
            String.format(
                "feature set %s: the range [%s, %s) holds no %s boundary: widen it.",
                featureSet, fromInstant, toInstant, spec.grain().label()));
      }
      return new Result(
          Optional.empty(),
          featureSet,
          target,
          fromInstant,
          toInstant,
          -1,
          0,
          true,
          OptionalLong.empty(),
          Map.of(),
          Duration.ofNanos(System.nanoTime() - started));
    }

    Map<String, String> params = new LinkedHashMap<>();
    params.put(PARAM_FEATURE_SET, featureSet);
    params.put(PARAM_FROM, fromInstant.toString());
    params.put(PARAM_TO, toInstant.toString());
    params.put("spec_sha256", def.sha256());
    return lh.run(
        JOB,
        params,
        List.of(source),
        List.of(target),
        run ->
            materialize(
                lh, run, def, computation, fromMicros, toMicros, started, fromInstant, toInstant),
        FeatureMaterializeJob::metrics);
  }

  private Result materialize(
      Lakehouse lh,
      JobRun run,
      FeatureSetDefinition def,
      FeatureComputation computation,
      long fromMicros,
      long toMicros,
      long started,
      Instant fromInstant,
      Instant toInstant) {
    FeatureSetSpec spec = def.spec();
    TableName source = spec.source().table();
    TableName target = spec.output().table();
    SparkSession session = run.session();
    long version = lh.currentVersion(source);
    String batch =
        String.format(
            "features:%s:%s/%s:source-v%d:spec-%s",
            spec.name(), fromInstant, toInstant, version, def.sha256().substring(0, 12));
    session
        .sparkContext()
        .setJobDescription("features.materialize " + spec.name() + " into " + target);
    Dataset<Row> rows =
        computation
            .compute(
                computation.bounded(
                    run.read(source, OptionalLong.of(version)), fromMicros, toMicros),
                fromMicros,
                toMicros)
            .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      String view = "__lakeforge_features_" + UUID.randomUUID().toString().replace("-", "");
      rows.createOrReplaceTempView(view);
      String merge =
          mergeStatement(
              lh.sqlName(lh.spec(target)), view, spec, rows.columns(), fromMicros, toMicros);
      JobRun.Commit commit = run.commit(target, Optional.of(batch), () -> session.sql(merge));
      session.catalog().dropTempView(view);
      long written = commit.skipped() ? 0 : rows.count();
      return new Result(
          Optional.of(run.id()),
          spec.name(),
          target,
          fromInstant,
          toInstant,
          version,
          written,
          commit.skipped(),
          commit.committed(),
          stats(rows, spec),
          Duration.ofNanos(System.nanoTime() - started));
    } finally {
      rows.unpersist();
      session.sparkContext().setJobDescription(null);
    }
  }

  /**
   * The MERGE of a range's rows: matched rows updated, new ones inserted, and rows of the range
   * that were not computed again (the source no longer supports them) deleted.
   */
  static String mergeStatement(
      String table,
      String view,
      FeatureSetSpec spec,
      String[] columns,
      long fromMicros,
      long toMicros) {
    StringJoiner on = new StringJoiner(" AND ");
    for (String k : spec.keys()) {
      on.add("t.`" + k + "` = s.`" + k + "`");
    }
    on.add("t.`" + FeatureSetSpec.FEATURE_TS + "` = s.`" + FeatureSetSpec.FEATURE_TS + "`");
    StringJoiner set = new StringJoiner(", ");
    for (String f : spec.featureNames()) {
      set.add("t.`" + f + "` = s.`" + f + "`");
    }
    StringJoiner names = new StringJoiner(", ");
    StringJoiner values = new StringJoiner(", ");
    for (String c : columns) {
      names.add("`" + c + "`");
      values.add("s.`" + c + "`");
    }
    return String.format(
        "MERGE INTO %s t USING %s s ON %s WHEN MATCHED THEN UPDATE SET %s"
            + " WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)"
            + " WHEN NOT MATCHED BY SOURCE AND t.`%s` >= timestamp_micros(%d)"
            + " AND t.`%s` < timestamp_micros(%d) THEN DELETE",
        table,
        view,
        on,
        set,
        names,
        values,
        FeatureSetSpec.FEATURE_TS,
        fromMicros,
        FeatureSetSpec.FEATURE_TS,
        toMicros);
  }

  /** Per feature: count, nulls, min, max, and mean when numeric; one Spark job. */
  private static Map<String, FeatureStats> stats(Dataset<Row> rows, FeatureSetSpec spec) {
    List<Column> aggs = new ArrayList<>();
    for (String f : spec.featureNames()) {
      StructField field = rows.schema().apply(f);
      Column c = col(f);
      aggs.add(count(c));
      aggs.add(sum(when(c.isNull(), 1L).otherwise(0L)));
      aggs.add(min(c).cast("string"));
      aggs.add(max(c).cast("string"));
      aggs.add(
          field.dataType() instanceof NumericType
              ? avg(c.cast("double"))
              : lit(null).cast("double"));
    }
    Row r = rows.agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new)).first();
    Map<String, FeatureStats> out = new LinkedHashMap<>();
    int i = 0;
    for (String f : spec.featureNames()) {
      out.put(
          f,
          new FeatureStats(
              r.getLong(i),
              r.isNullAt(i + 1) ? 0 : r.getLong(i + 1),
              Optional.ofNullable(r.getString(i + 2)),
              Optional.ofNullable(r.getString(i + 3)),
              r.isNullAt(i + 4) ? OptionalDouble.empty() : OptionalDouble.of(r.getDouble(i + 4))));
      i += 5;
    }
    return out;
  }

  private static Map<String, ?> metrics(Result r) {
    Map<String, Object> m = new TreeMap<>();
    m.put("from", r.from().toString());
    m.put("to", r.to().toString());
    m.put("source_version", r.sourceVersion());
    m.put("rows_written", r.rowsWritten());
    m.put("skipped", r.skipped());
    Map<String, Object> features = new LinkedHashMap<>();
    r.stats()
        .forEach(
            (name, s) -> {
              Map<String, Object> one = new LinkedHashMap<>();
              one.put("count", s.count());
              one.put("nulls", s.nulls());
              s.min().ifPresent(v -> one.put("min", v));
              s.max().ifPresent(v -> one.put("max", v));
              if (s.mean().isPresent()) {
                one.put("mean", s.mean().getAsDouble());
              }
              features.put(name, one);
            });
    m.put("features", features);
    return m;
  }

  @SuppressWarnings("unchecked")
  private static Materialization read(RunLog.Run run) {
    Map<String, Object> m =
        run.metrics() == null
            ? Map.of()
            : YamlSpecReader.parse(
                run.metrics(), LinkedHashMap.class, "metrics of run " + run.id());
    Map<String, FeatureStats> stats = new LinkedHashMap<>();
    Object features = m.get("features");
    if (features instanceof Map<?, ?> fs) {
      fs.forEach(
          (name, v) -> {
            Map<String, Object> one = (Map<String, Object>) v;
            stats.put(
                String.valueOf(name),
                new FeatureStats(
                    number(one.get("count")),
                    number(one.get("nulls")),
                    Optional.ofNullable(one.get("min")).map(String::valueOf),
                    Optional.ofNullable(one.get("max")).map(String::valueOf),
                    one.get("mean") instanceof Number n
                        ? OptionalDouble.of(n.doubleValue())
                        : OptionalDouble.empty()));
          });
    }
    return new Materialization(
        run.id(),
        run.endedAt(),
        Instant.parse(run.parameters().get(PARAM_FROM)),
        Instant.parse(run.parameters().get(PARAM_TO)),
        number(m.get("source_version")),
        number(m.get("rows_written")),
        stats);
  }

  private static long number(Object o) {
    return o instanceof Number n ? n.longValue() : -1;
  }

  private static final String PARAM_FEATURE_SET = "feature_set";
  private static final String PARAM_FROM = "from";
  private static final String PARAM_TO = "to";

  private static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
  }

  private static long ceil(long micros, long g) {
    return Math.floorDiv(micros + g - 1, g) * g;
  }

  private static Instant instant(long micros) {
    return Instant.EPOCH
        .plusSeconds(Math.floorDiv(micros, 1_000_000L))
        .plusNanos(Math.floorMod(micros, 1_000_000L) * 1_000L);
  }

  @Override
  public String toString() {
    return String.format(
        "materialization of feature set %s from %s to %s",
        featureSet,
        from.map(Instant::toString).orElse("the last run's end"),
        to.map(Instant::toString).orElse("now"));
  }
}
