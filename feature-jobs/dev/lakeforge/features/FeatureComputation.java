package dev.lakeforge.features;

import static org.apache.spark.sql.functions.array_distinct;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.flatten;
import static org.apache.spark.sql.functions.lead;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.sequence;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.timestamp_micros;
import static org.apache.spark.sql.functions.unix_micros;
import static org.apache.spark.sql.functions.when;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.features.FeatureSetSpec.Agg;
import dev.lakeforge.features.FeatureSetSpec.Feature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.AtomicType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.VariantType;

/**
 * How a feature set's values are computed, checked against its source's schema when built (by
 * analysing every expression on an empty frame: no Spark job runs).
 *
 * <p>The computation reads the source once. Each event goes to the grain bucket it counts for: the
 * first boundary at or after its time (a window {@code (b - w, b]} is the buckets ending in it).
 * Events are pre-aggregated per entity and bucket: counts, sums, minima, maxima, the latest
 * non-null value with its time ({@code max(struct(time, value))}, so ties take the largest value)
 * and, for {@code count_distinct}, the set of distinct values. The buckets of an entity are then
 * laid on a grid of boundaries: each bucket opens the boundaries from itself up to the next bucket
 * or the longest window's end, so the grid holds exactly the (entity, boundary) pairs that have an
 * event in the longest window. A range frame over that grid (the last {@code window / grain}
 * boundaries) combines the buckets of each window: sums of counts and sums, min of minima, max of
 * maxima and of latest structs, and, for {@code count_distinct}, the size of the union of the
 * buckets' sets (exact; it holds one entity's distinct values of one window in memory at a time).
 * Two shuffles: the small one of the pre-aggregation and one by entity for the grid.
 */
final class FeatureComputation {
  private static final String P = "__fs_";
  private static final String TIME = P + "t";
  private static final String BUCKET = P + "b";
  private static final String AT = P + "at";
  private static final String NEXT = P + "next";

  private final FeatureSetSpec spec;
  private final Map<String, DataType> aggTypes;
  private final StructType output;

  private FeatureComputation(
      FeatureSetSpec spec,
      StructType sourceSchema,
      Map<String, DataType> aggTypes,
      SparkSession spark) {
    this.spec = spec;
    this.aggTypes = Map.copyOf(aggTypes);
    this.output = compute(empty(spark, sourceSchema), 0, 1).schema();
  }

  /**
   * Checks {@code spec}'s columns against its source's {@code schema}: the keys and event time
   * exist, the time is TIMESTAMP, the filter is a boolean expression, each aggregation's expression
   * resolves to a type the aggregation takes, and each projection resolves over the feature row.
   *
   * @param source names the spec in errors (e.g. its file)
   * @throws SpecException naming the file, the field and the fix
   */
  static FeatureComputation check(
      FeatureSetSpec spec, String source, StructType schema, SparkSession spark) {
    String where = source + ": feature set " + spec.name();
    Dataset<Row> empty = empty(spark, schema);
    for (int i = 0; i < spec.keys().size(); i++) {
      StructField f = field(where, "keys[" + i + "]", schema, spec.keys().get(i), spec);
      if (f.dataType() instanceof MapType || f.dataType() instanceof VariantType) {
        throw new SpecException(
            String.format(
                "%s: `keys[%d]` `%s` has type %s, which cannot identify an entity: use columns of"
                    + " simple types as keys.",
                where, i, f.name(), f.dataType().sql()));
      }
    }
    StructField ts = field(where, "source.timestamp", schema, spec.source().timestamp(), spec);
    if (!ts.dataType().sameType(DataTypes.TimestampType)) {
      throw new SpecException(
          String.format(
              "%s: `source.timestamp` `%s` is %s: it must be TIMESTAMP. Name a TIMESTAMP column"
                  + " or add one to %s.",
              where, ts.name(), ts.dataType().sql(), spec.source().table()));
    }
    if (spec.source().filter().isPresent()) {
      DataType t = analyse(where, "source.filter", empty, spec.source().filter().get());
      if (!(t instanceof BooleanType)) {
        throw new SpecException(
            String.format(
                "%s: `source.filter` '%s' is %s, not a condition: write a predicate, e.g."
                    + " quantity > 0.",
                where, spec.source().filter().get(), t.sql()));
      }
    }
    Map<String, DataType> aggTypes = new LinkedHashMap<>();
    List<StructField> row = new ArrayList<>();
    for (String k : spec.keys()) {
      row.add(schema.apply(k));
    }
    row.add(
        new StructField(
            FeatureSetSpec.FEATURE_TS, DataTypes.TimestampType, false, Metadata.empty()));
    for (int i = 0; i < spec.features().size(); i++) {
      Feature f = spec.features().get(i);
      if (!f.aggregated()) {
        continue;
      }
      Agg agg = f.agg().get();
      String field = "features[" + i + "].expr";
      if (f.expr().isEmpty()) {
        aggTypes.put(f.name(), DataTypes.LongType);
        row.add(new StructField(f.name(), DataTypes.LongType, true, Metadata.empty()));
        continue;
      }
      DataType t = analyse(where, field, empty, f.expr().get());
      boolean fits =
          switch (agg) {
            case SUM, AVG -> t instanceof NumericType;
            case MIN, MAX, COUNT_DISTINCT -> t instanceof AtomicType;
            case COUNT, LAST -> !(t instanceof MapType || t instanceof VariantType);
          };
      if (!fits) {
        throw new SpecException(
            String.format(
                "%s: `%s` of %s is %s, which %s cannot aggregate: %s.",
                where,
                field,
                f.name(),
                t.sql(),
                agg.label(),
                switch (agg) {
                  case SUM, AVG -> "use a numeric column or cast it, e.g. CAST(x AS DOUBLE)";
                  default -> "use a column of a simple type (number, string, date, timestamp…)";
                }));
      }
      DataType direct =
          empty.agg(direct(agg, expr(f.expr().get())).as("x")).schema().apply("x").dataType();
      aggTypes.put(f.name(), direct);
      row.add(new StructField(f.name(), direct, true, Metadata.empty()));
    }
    Dataset<Row> featureRow = empty(spark, new StructType(row.toArray(StructField[]::new)));
    for (int i = 0; i < spec.features().size(); i++) {
      Feature f = spec.features().get(i);
      if (!f.aggregated()) {
        analyse(
            where + " (a projection sees the keys, feature_ts and the aggregated features)",
            "features[" + i + "].expr",
            featureRow,
            f.expr().get());
      }
    }
    return new FeatureComputation(spec, schema, aggTypes, spark);
  }

  /** The feature table's schema: the keys, {@code feature_ts}, then the features in order. */
  StructType output() {
    return output;
  }

  /**
   * The source rows a range needs, as a lazy frame over {@code table}: the spec's filter, non-null
   * keys and time, and events in {@code (from - longest window, last boundary]}, a time bound the
   * table scan can push down.
   */
  Dataset<Row> bounded(Dataset<Row> table, long fromMicros, long toMicros) {
    long g = micros(spec.grain().width());
    long lastBoundary = Math.subtractExact(toMicros, g);
    long earliest = Math.subtractExact(fromMicros, micros(spec.longestWindow()));
    Column ts = col(spec.source().timestamp());
    Column keep =
        ts.gt(timestamp_micros(lit(earliest))).and(ts.leq(timestamp_micros(lit(lastBoundary))));
    for (String k : spec.keys()) {
      keep = keep.and(col(k).isNotNull());
    }
    if (spec.source().filter().isPresent()) {
      keep = keep.and(expr(spec.source().filter().get()));
    }
    return table.where(keep);
  }

  /**
   * The feature rows of every entity at every boundary in {@code [fromMicros, toMicros)} (both
   * multiples of the grain) that has an event in its longest window, computed from {@code events}
   * (the output of {@link #bounded}, or any frame of the source's schema).
   */
  Dataset<Row> compute(Dataset<Row> events, long fromMicros, long toMicros) {
    long g = micros(spec.grain().width());
    long span = micros(spec.longestWindow()) / g;
    List<Column> keys = spec.keys().stream().map(k -> col(k)).toList();

    // 1. One row per event: keys, time, bucket, each aggregation's input.
    List<Column> pre = new ArrayList<>(keys);
    Column t = unix_micros(col(spec.source().timestamp()));
    pre.add(t.as(TIME));
    pre.add(t.minus(1).minus(pmod(t.minus(1), lit(g))).divide(g).cast("bigint").plus(1).as(BUCKET));
    List<Feature> aggs = spec.features().stream().filter(Feature::aggregated).toList();
    for (int i = 0; i < aggs.size(); i++) {
      pre.add((aggs.get(i).expr().isPresent() ? expr(aggs.get(i).expr().get()) : lit(1)).as(in(i)));
    }
    Dataset<Row> rows = events.select(pre.toArray(Column[]::new));

    // 2. Pre-aggregate per entity and bucket.
    List<Column> bucketAggs = new ArrayList<>();
    for (int i = 0; i < aggs.size(); i++) {
      Column v = col(in(i));
      switch (aggs.get(i).agg().get()) {
        case COUNT -> bucketAggs.add(count(v).as(part(i, "c")));
        case SUM -> bucketAggs.add(sum(v).as(part(i, "s")));
        case AVG -> {
          bucketAggs.add(sum(v).as(part(i, "s")));
          bucketAggs.add(count(v).as(part(i, "c")));
        }
        case MIN -> bucketAggs.add(min(v).as(part(i, "m")));
        case MAX -> bucketAggs.add(max(v).as(part(i, "m")));
        case LAST ->
            bucketAggs.add(
                max(when(v.isNotNull(), struct(col(TIME).as("t"), v.as("v")))).as(part(i, "l")));
        case COUNT_DISTINCT -> bucketAggs.add(collect_set(v).as(part(i, "d")));
      }
    }
    List<Column> entityBucket = new ArrayList<>(keys);
    entityBucket.add(col(BUCKET));
    Dataset<Row> buckets =
        rows.groupBy(entityBucket.toArray(Column[]::new))
            .agg(
                bucketAggs.get(0), bucketAggs.subList(1, bucketAggs.size()).toArray(Column[]::new));

    // 3. The grid: each bucket opens the boundaries up to the next bucket or the longest window.
    WindowSpec byBucket = Window.partitionBy(keys.toArray(Column[]::new)).orderBy(col(BUCKET));
    Column end = col(BUCKET).plus(span - 1);
    buckets = buckets.withColumn(NEXT, lead(col(BUCKET), 1).over(byBucket));
    Column last = least(coalesce(col(NEXT).minus(1), end), end);
    List<Column> grid = new ArrayList<>(keys);
    grid.add(explode(sequence(col(BUCKET), last)).as(AT));
    grid.add(col(BUCKET));
    for (String c : buckets.columns()) {
      if (c.startsWith(P + "p")) {
        grid.add(col(c));
      }
    }
    Dataset<Row> laid = buckets.select(grid.toArray(Column[]::new));
    List<Column> own = new ArrayList<>(keys);
    own.add(col(AT));
    for (String c : laid.columns()) {
      if (c.startsWith(P + "p")) {
        own.add(when(col(AT).equalTo(col(BUCKET)), col(c)).as(c));
      }
    }
    laid = laid.select(own.toArray(Column[]::new));

    // 4. Each window is a range frame over the grid's boundaries.
    List<Column> out = new ArrayList<>(keys);
    out.add(timestamp_micros(col(AT).multiply(g)).as(FeatureSetSpec.FEATURE_TS));
    for (int i = 0; i < aggs.size(); i++) {
      Feature f = aggs.get(i);
      long k = micros(f.window().get()) / g;
      WindowSpec w =
          Window.partitionBy(keys.toArray(Column[]::new)).orderBy(col(AT)).rangeBetween(1 - k, 0);
      Column value =
          switch (f.agg().get()) {
            case COUNT -> coalesce(sum(col(part(i, "c"))).over(w), lit(0L));
            case SUM -> sum(col(part(i, "s"))).over(w);
            case AVG ->
                sum(col(part(i, "s")))
                    .over(w)
                    .cast(widen(aggTypes.get(f.name())))
                    .divide(sum(col(part(i, "c"))).over(w));
            case MIN -> min(col(part(i, "m"))).over(w);
            case MAX -> max(col(part(i, "m"))).over(w);
            case LAST -> max(col(part(i, "l"))).over(w).getField("v");
            case COUNT_DISTINCT ->
                size(array_distinct(flatten(collect_list(col(part(i, "d"))).over(w))));
          };
      out.add(value.cast(aggTypes.get(f.name())).as(f.name()));
    }
    Dataset<Row> aggregated =
        laid.select(out.toArray(Column[]::new))
            .where(
                col(FeatureSetSpec.FEATURE_TS)
                    .geq(timestamp_micros(lit(fromMicros)))
                    .and(col(FeatureSetSpec.FEATURE_TS).lt(timestamp_micros(lit(toMicros)))));

    // 5. Projections over the feature row, then the spec's column order.
    List<Column> ordered = new ArrayList<>(keys);
    ordered.add(col(FeatureSetSpec.FEATURE_TS));
    for (Feature f : spec.features()) {
      ordered.add(f.aggregated() ? col(f.name()) : expr(f.expr().get()).as(f.name()));
    }
    return aggregated.select(ordered.toArray(Column[]::new));
  }

  /** The direct aggregation a feature's type is defined by (e.g. sum(decimal(12,2))). */
  private static Column direct(Agg agg, Column v) {
    return switch (agg) {
      case COUNT -> count(v);
      case SUM -> sum(v);
      case AVG -> org.apache.spark.sql.functions.avg(v);
      case MIN -> min(v);
      case MAX, LAST -> max(v);
      case COUNT_DISTINCT -> org.apache.spark.sql.functions.count_distinct(v);
    };
  }

  /** The type to divide a window's sum in for an average of type {@code avg}. */
  private static DataType widen(DataType avg) {
    return avg instanceof org.apache.spark.sql.types.DecimalType
        ? DataTypes.createDecimalType(38, 18)
        : DataTypes.DoubleType;
  }

  private static String in(int i) {
    return P + "in" + i;
  }

  private static String part(int i, String what) {
    return P + "p" + i + what;
  }

  private static DataType analyse(String where, String field, Dataset<Row> empty, String text) {
    Dataset<Row> projected;
    try {
      projected = empty.select(expr(text).as("x"));
      projected.schema();
    } catch (
        Exception e) { // AnalysisException (checked in Java), ParseException, or a runtime error of
      // analysis
      throw new SpecException(
          String.format(
              "%s: `%s` '%s' does not resolve: %s. Fix the expression (columns: %s).",
              where, field, text, firstLine(e.getMessage()), String.join(", ", empty.columns())),
          e);
    }
    if (projected.queryExecution().analyzed() instanceof Aggregate) {
      throw new SpecException(
          String.format(
              "%s: `%s` '%s' is an aggregate: write a row-level expression and put the"
                  + " aggregation in `agg`.",
              where, field, text));
    }
    return projected.schema().apply("x").dataType();
  }

  private static StructField field(
      String where, String field, StructType schema, String column, FeatureSetSpec spec) {
    Optional<StructField> f =
        Arrays.stream(schema.fields()).filter(x -> x.name().equals(column)).findFirst();
    if (f.isEmpty()) {
      throw new SpecException(
          String.format(
              "%s: `%s` `%s` is not a column of %s (%s).",
              where,
              field,
              column,
              spec.source().table(),
              Arrays.stream(schema.fieldNames()).collect(Collectors.joining(", "))));
    }
    return f.get();
  }

  private static Dataset<Row> empty(SparkSession spark, StructType schema) {
    return spark.createDataFrame(List.<Row>of(), schema);
  }

  private static String firstLine(String s) {
    String line = s == null ? "" : s.lines().findFirst().orElse("");
    int semi = line.indexOf("; line ");
    return (semi > 0 ? line.substring(0, semi) : line).replaceAll("\\.$", "");
  }

  static long micros(java.time.Duration d) {
    return PointInTimeJoin.micros(d);
  }
}
