package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.hash;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.shiftleft;
import static org.apache.spark.sql.functions.shiftright;
import static org.apache.spark.sql.functions.timestamp_micros;
import static org.apache.spark.sql.functions.unix_micros;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import dev.lakeforge.core.SparkInternals;
import dev.lakeforge.features.FeatureSource.Selected;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

/**
 * A point-in-time (as-of) join: each spine row gets, from every feature source, the latest row of
 * the same entity whose timestamp lies in {@code [spine time - ttl, spine time]} (both edges
 * inclusive), or nulls when there is none.
 *
 * <p>The contract:
 *
 * <ul>
 *   <li>The output holds exactly the spine's rows (same count, in no particular order), each with
 *       all its columns, followed by the selected feature columns of each source in order.
 *   <li>A feature value never comes from after its spine row's time.
 *   <li>Entities are compared column by column: composite keys never collide ({@code ("1", 12)} and
 *       {@code ("11", 2)} are different entities). A spine row with a null key or a null timestamp
 *       gets nulls; feature rows with a null key or timestamp are ignored.
 *   <li>A feature row's own null values come through as nulls: the latest row wins, even when an
 *       older row had a value.
 *   <li>Two rows of one source for the same entity at the same timestamp are an error (a {@link
 *       FeatureException} naming the source, the entity and the time, raised by {@link #join} or
 *       when its result is used), since neither is "the latest". Deduplicate the source first. Only
 *       rows that could be a spine row's answer are checked: duplicates that a later row of the
 *       entity hides from every spine row, or that lie outside every spine row's ttl, may pass
 *       unreported.
 *   <li>Feature output names must be unique across the spine and all sources (rename with {@link
 *       Selected}); the schema rules are checked when the join is built, before any Spark job.
 * </ul>
 *
 * <p>How it runs: one Spark job reads the spine's earliest and latest time, so that each source is
 * read only for {@code [earliest - ttl, latest]} (pushed down to the table scan), and in the same
 * pass collects the spine's times per entity (a 64-bit hash of the keys); when the spine has at
 * most {@value #BROADCAST_SPINE_ROWS} rows, it broadcasts them ({@link SpineTimes}): each source's
 * scan then drops, exactly, the rows no spine row can see, and of an entity's rows between two of
 * its spine rows keeps only the latest, on the map side ({@link LatestPerInterval}), so a source
 * with many rows per spine row shuffles about one row per spine row. A larger spine gets a Bloom
 * filter of the time slots it needs instead ({@code slotFilter}), which each source's scan applies.
 * Then with the spine's times broadcast, each source's thinned rows are gathered on the driver into
 * its answers per spine position and broadcast, and the spine is joined in one pass without a
 * shuffle ({@code lookedUp}). Otherwise (or when the sources' rows exceed {@link
 * Builder#optBroadcastFeatureBytes}, or two of its entities share a key hash) the spine rows and
 * the remaining feature rows of all sources are unioned, shuffled once by the entity keys (plus a
 * time bucket with {@link Builder#optTimeBuckets}), sorted within each partition by entity hash and
 * coarse time, then exact time (feature rows before spine rows at equal times; {@code sortGroup}),
 * and merged in one streaming pass ({@link AsOfMerge}).
 *
 * <p>Memory per task, precisely: the sort is Spark's external sorter, which holds rows up to the
 * task's share of execution memory and spills sorted runs to local disk, whatever the entities; the
 * merge then reads the sorted rows one at a time and holds, for the current entity only (or the few
 * whose hashes collide with it), its key, its bucket and the latest row of each source (the
 * selected values and the time) — no grouping, no collected lists, no window buffer per entity. So
 * an entity with a large share of the rows costs its task time, not memory. Time buckets ({@link
 * Builder#optTimeBuckets}) also spread one entity's rows over several tasks: each feature row goes
 * to its own bucket and, when still valid at the next bucket's start, to that one too.
 */
public final class PointInTimeJoin {
  private static final Logger LOG = LoggerFactory.getLogger(PointInTimeJoin.class);
  private final Spine spine;
  private final List<FeatureSource> sources;
  private final Optional<Duration> timeBuckets;
  private final JoinChecks.Checked checked;
  private final Duration maxTtl;
  private final long spineTimesLimit;
  private final long minSpineRowsPerEntity;
  private final long answerBytes;

  private PointInTimeJoin(
      Spine spine,
      List<FeatureSource> sources,
      Optional<Duration> timeBuckets,
      long spineTimesLimit,
      long minSpineRowsPerEntity,
      long answerBytes) {
    this.spine = requireNonNull(spine, "spine is null");
    this.answerBytes = answerBytes;
    this.spineTimesLimit = spineTimesLimit;
    this.minSpineRowsPerEntity = minSpineRowsPerEntity;
    this.sources = List.copyOf(sources);
    this.timeBuckets = requireNonNull(timeBuckets, "timeBuckets is null");
    if (this.sources.isEmpty()) {
      throw new FeatureException(
          String.format("%s: no feature source: add at least one.", spine.name()));
    }
    List<JoinChecks.SourceShape> shapes = new ArrayList<>();
    for (FeatureSource s : this.sources) {
      shapes.add(
          new JoinChecks.SourceShape(
              s.name(), s.data().schema(), s.keys(), s.timestamp(), s.select()));
    }
    this.checked =
        JoinChecks.check(
            spine.name(), spine.data().schema(), spine.keys(), spine.timestamp(), shapes);
    this.maxTtl = this.sources.stream().map(FeatureSource::ttl).max(Duration::compareTo).get();
    timeBuckets.ifPresent(
        w -> {
          if (w.compareTo(maxTtl) < 0) {
            throw new FeatureException(
                String.format(
                    "%s: time buckets of %s are shorter than the longest ttl (%s): use buckets of"
                        + " at least %s (a few times the ttl keeps the copied rows few).",
                    spine.name(),
                    Durations.format(w),
                    Durations.format(maxTtl),
                    Durations.format(maxTtl)));
          }
        });
  }

  /** A join of {@code spine} with feature sources added through the builder. */
  public static Builder builder(Spine spine) {
    return new Builder(spine);
  }

  /** Builds a {@link PointInTimeJoin}; {@code add} at least one source. */
  public static final class Builder {
    private final Spine spine;
    private final List<FeatureSource> sources = new ArrayList<>();
    private Optional<Duration> timeBuckets = Optional.empty();
    private long spineTimesLimit = BROADCAST_SPINE_ROWS;
    private long minSpineRowsPerEntity = MIN_SPINE_ROWS_PER_ENTITY;
    private long answerBytes = BROADCAST_FEATURE_BYTES;

    private Builder(Spine spine) {
      this.spine = requireNonNull(spine, "spine is null");
    }

    /** Adds a feature source; its columns follow those of the sources added before. */
    public Builder add(FeatureSource source) {
      sources.add(requireNonNull(source, "source is null"));
      return this;
    }

    /**
     * Splits each entity's timeline into buckets of {@code width} (at least the longest ttl), so
     * that a heavily skewed entity is merged by several tasks. Costs a copy of the feature rows
     * that lie within ttl of a bucket's end (about ttl/width of them). Default: no buckets.
     */
    public Builder optTimeBuckets(Duration width) {
      this.timeBuckets = Optional.of(requireNonNull(width, "width is null"));
      return this;
    }

    /**
     * The most spine rows whose times are broadcast (8 bytes a row, 12 an entity) so that each
     * source's scan thins its rows exactly; a larger spine gets a Bloom filter of the time slots it
     * needs instead. Default {@value #BROADCAST_SPINE_ROWS}; 0 always uses the Bloom filter.
     */
    public Builder optBroadcastSpineRows(long rows) {
      if (rows < 0) {
        throw new IllegalArgumentException(
            "optBroadcastSpineRows("
                + rows
                + "): use 0 or more (0 always uses the Bloom filter of the spine's time slots).");
      }
      this.spineTimesLimit = rows;
      return this;
    }

    /**
     * The most bytes that the join gathers on the driver and broadcasts, so that it needs no
     * shuffle: the feature rows spine rows can see, of all sources, and 16 bytes per spine row for
     * each source (default {@value #BROADCAST_FEATURE_BYTES}, and at most half of {@code
     * spark.driver.maxResultSize}); a join whose spine times are broadcast and whose sources' rows
     * that spine rows can see fit joins in one pass over the spine, else it shuffles. 0 always
     * shuffles.
     */
    public Builder optBroadcastFeatureBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException(
            "optBroadcastFeatureBytes(" + bytes + "): use 0 or more (0 always shuffles).");
      }
      this.answerBytes = bytes;
      return this;
    }

    /**
     * Broadcasts the spine's times only when its entities have at least this many rows each on
     * average (default {@value #MIN_SPINE_ROWS_PER_ENTITY}); 0 whenever the spine is small enough.
     * For tests of either path.
     */
    Builder broadcastFromSpineRowsPerEntity(long rows) {
      this.minSpineRowsPerEntity = rows;
      return this;
    }

    /** The join, with its column rules checked (no Spark job runs). */
    public PointInTimeJoin build() {
      return new PointInTimeJoin(
          spine, sources, timeBuckets, spineTimesLimit, minSpineRowsPerEntity, answerBytes);
    }
  }

  /** The output schema: the spine's columns, then each source's selected features. */
  public StructType schema() {
    return checked.output();
  }

  /**
   * The joined rows. Runs one small Spark job over the spine now (its time range, row count and
   * times per entity), and a second for the filter of the time slots it needs when the spine had
   * too many rows to pack its times; with the spine's times broadcast, also reads each source now
   * and gathers its answers ({@link FeatureAnswers}), so that the result is one pass over the
   * spine. The rest runs when the result is used.
   *
   * @throws FeatureException when gathering finds two rows of one entity at the time of a spine
   *     row's answer (on the shuffled path that error comes when the result is used)
   */
  public Dataset<Row> join() {
    Dataset<Row> spineData = spine.data();
    long started = System.nanoTime();
    SpineScan range = scanSpine(spineData);
    Optional<Broadcast<SpineTimes>> times = range.times();
    LOG.info(
        "{}: the spine read in {} s: {} rows with keys and a time; its times per entity {}",
        this,
        seconds(started),
        range.rows(),
        times.isPresent()
            ? String.format(Locale.ROOT, "(%,d entities) broadcast", times.get().value().entities())
            : "not broadcast");
    Optional<Broadcast<NeededSlots>> slots =
        range.empty() || times.isPresent() ? Optional.empty() : slotFilter(spineData, range);
    if (times.isPresent() && answerBytes > 0) {
      Optional<Dataset<Row>> looked = lookedUp(spineData, range, times.get());
      if (looked.isPresent()) {
        return looked.get();
      }
    }
    StructType spineSchema = spineData.schema();
    int n = sources.size();
    long bucketMicros = timeBuckets.map(PointInTimeJoin::micros).orElse(0L);

    List<Column> unionColumns = new ArrayList<>();
    unionColumns.add(lit(n).as(KIND));
    unionColumns.add(order(col(spine.timestamp()), true).as(TS));
    unionColumns.add(
        (bucketMicros > 0
                ? floor(unix_micros(col(spine.timestamp())).divide(bucketMicros))
                : lit(0L))
            .cast(DataTypes.LongType)
            .as(BUCKET));
    for (StructField f : spineSchema.fields()) {
      unionColumns.add(col(f.name()));
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < checked.selections().get(i).size(); j++) {
        StructField f = checked.output().fields()[spineSchema.size() + offset(i) + j];
        unionColumns.add(lit(null).cast(f.dataType()).as(featureColumn(i, j)));
      }
    }
    Dataset<Row> union = spineData.select(unionColumns.toArray(Column[]::new));

    for (int i = 0; i < n; i++) {
      Dataset<Row> rows = src(i, range, slots, bucketMicros, times.isPresent(), true);
      if (times.isPresent()) {
        // less the rows thinning lets go
        LatestPerInterval thin =
            thinning(rows.schema(), times.get(), sources.get(i), bucketMicros > 0);
        rows = SparkInternals.mapPartitions(rows, thin, rows.schema());
      }
      List<Column> wide = new ArrayList<>();
      wide.add(col(KIND));
      wide.add(col(TS));
      wide.add(col(BUCKET));
      for (StructField f : spineSchema.fields()) {
        wide.add(
            spine.keys().contains(f.name())
                ? col(f.name())
                : lit(null).cast(f.dataType()).as(f.name()));
      }
      for (int s = 0; s < n; s++) {
        for (int j = 0; j < checked.selections().get(s).size(); j++) {
          StructField f = checked.output().fields()[spineSchema.size() + offset(s) + j];
          wide.add(
              s == i
                  ? col(featureColumn(s, j))
                  : lit(null).cast(f.dataType()).as(featureColumn(s, j)));
        }
      }
      union = union.unionAll(rows.select(wide.toArray(Column[]::new)));
    }

    List<Column> partitionBy = new ArrayList<>();
    for (String k : spine.keys()) {
      partitionBy.add(col(k));
    }
    List<Column> entity = new ArrayList<>(partitionBy);
    entity.add(col(BUCKET));
    Column group = sortGroup(entity, coarseTime(range));
    if (bucketMicros > 0) {
      partitionBy.add(col(BUCKET));
    }

    int[] keyIndexes = new int[spine.keys().size()];
    for (int k = 0; k < keyIndexes.length; k++) {
      keyIndexes[k] = FIRST_SPINE_COLUMN + spineSchema.fieldIndex(spine.keys().get(k));
    }
    long[] ttls = sources.stream().mapToLong(s -> micros(s.ttl())).toArray();
    int[] widths = checked.selections().stream().mapToInt(List::size).toArray();
    String[] names = sources.stream().map(FeatureSource::name).toArray(String[]::new);
    // The group is computed after the shuffle, so it costs no shuffle bytes.
    Dataset<Row> sorted =
        union
            .repartition(partitionBy.toArray(Column[]::new))
            .withColumn(GROUP, group)
            .sortWithinPartitions(GROUP, TS);
    AsOfMerge merge =
        new AsOfMerge(
            sorted.schema(),
            spineSchema.size(),
            keyIndexes,
            spine.keys().toArray(String[]::new),
            ttls,
            widths,
            names,
            sorted.schema().fieldIndex(GROUP));
    return SparkInternals.mapPartitions(sorted, merge, checked.output());
  }

  /**
   * Source {@code i}'s rows that some spine row may see, in its own narrow layout: kind, order
   * time, bucket (one row per bucket it belongs to), its keys under the spine's key names (in the
   * spine's column order), its selected features under their union names, then — {@code withHash},
   * for thinning — the entity hash. Without {@code forUnion} (rows gathered on the driver, never
   * unioned) there is no kind, nor a bucket when {@code bucketMicros} is 0: a narrower row to hold,
   * send and broadcast. Rows outside the spine's time range (less the ttl), with a null key or
   * time, or (given {@code slots}) in no slot the spine needs are dropped; the time bounds are
   * literals on the raw column, so that Delta and Iceberg skip files and row groups.
   */
  private Dataset<Row> src(
      int i,
      SpineScan range,
      Optional<Broadcast<NeededSlots>> slots,
      long bucketMicros,
      boolean withHash,
      boolean forUnion) {
    FeatureSource src = sources.get(i);
    Column ts = col(src.timestamp());
    Column keep = present(src.keys(), src.timestamp());
    if (range.empty()) {
      keep = lit(false);
    } else {
      long ttl = micros(src.ttl());
      keep =
          keep.and(ts.geq(timestamp_micros(lit(range.min() - ttl))))
              .and(ts.leq(timestamp_micros(lit(range.max()))));
    }
    List<Column> own = new ArrayList<>();
    if (forUnion) {
      own.add(lit(i).as(KIND));
    }
    own.add(order(ts, false).as(TS));
    if (bucketMicros > 0) {
      Column bucket = floor(unix_micros(ts).divide(bucketMicros)).cast(DataTypes.LongType);
      // Still valid at the next bucket's start: the rows of that bucket need it too.
      Column validAtNext =
          unix_micros(ts).plus(micros(src.ttl())).geq(bucket.plus(1).multiply(bucketMicros));
      own.add(
          explode(when(validAtNext, array(bucket, bucket.plus(1))).otherwise(array(bucket)))
              .as(BUCKET));
    } else if (forUnion) {
      own.add(lit(0L).as(BUCKET));
    }
    for (StructField f : spine.data().schema().fields()) {
      int k = spine.keys().indexOf(f.name());
      if (k >= 0) {
        own.add(col(src.keys().get(k)).as(f.name()));
      }
    }
    List<Selected> sel = checked.selections().get(i);
    for (int j = 0; j < sel.size(); j++) {
      own.add(col(sel.get(j).column()).as(featureColumn(i, j)));
    }
    if (withHash || slots.isPresent()) {
      // read by thinning or the slot filter, not shuffled
      own.add(entityHash(src.keys()).as(ENTITY_HASH));
    }
    Dataset<Row> rows = src.data().where(keep).select(own.toArray(Column[]::new));
    if (slots.isEmpty()) {
      return rows;
    }
    StructType schema = rows.schema();
    NeededSlots.Keep needed =
        new NeededSlots.Keep(slots.get(), i, schema.fieldIndex(ENTITY_HASH), schema.fieldIndex(TS));
    return SparkInternals.mapPartitions(rows, needed, schema);
  }

  /**
   * The first sort column: a hash of the entity (keys and bucket) in the high 32 bits, the row's
   * time, coarsened to 32 bits over the join's time range, in the low ones. Sorting by it and then
   * by exact time puts each hash's rows together in time order, and most comparisons are decided by
   * this one long, which Spark's sort compares as a prefix without reading the rows; sorting by the
   * keys first would leave every comparison within an entity to the full row comparator. Entities
   * whose hashes collide end up interleaved by time, which {@link AsOfMerge} handles.
   */
  static Column sortGroup(List<Column> entity, Column coarseTime) {
    return shiftleft(hash(entity.toArray(Column[]::new)).cast(DataTypes.LongType), 32)
        .bitwiseOR(coarseTime);
  }

  /**
   * A union row's time as a 32-bit number that never decreases with time: microseconds since the
   * earliest time any source is read from ({@code earliest spine time - longest ttl}), divided by a
   * step that fits the whole range in 32 bits; 0 for a row without time.
   */
  private Column coarseTime(SpineScan range) {
    long base = 0;
    long step = 1;
    if (!range.empty()) {
      base = range.min() - micros(maxTtl);
      step = Math.floorDiv(range.max() - base, 1L << 32) + 1;
    }
    Column micros = shiftright(col(TS), 1); // the order column halved: the time
    Column coarse = floor(micros.minus(base).divide(step)).cast(DataTypes.LongType);
    return least(greatest(coarse, lit(0L)), lit(0xFFFF_FFFFL)); // greatest skips a null: 0
  }

  /**
   * The union's sort time of a row at {@code ts}: its microseconds times two, plus one for a spine
   * row, so that one column orders rows by time with feature rows before spine rows at equal times
   * ({@link AsOfMerge} halves it back). Spark's timestamps (years 1 to 9999) stay far from a long's
   * limits when doubled.
   */
  private static Column order(Column ts, boolean spineRow) {
    return unix_micros(ts).multiply(2).plus(spineRow ? 1 : 0);
  }

  /**
   * What one pass over the spine's rows with keys and a time finds: their count and time range
   * ({@code min}, {@code max} in microseconds; meaningless when {@code rows} is 0) and, broadcast
   * for each source's scan to thin its rows exactly ({@link LatestPerInterval}), their times per
   * entity; {@code pairs}, the (hash, time) pairs it packed, from which the driver builds the
   * filter of the time slots ({@link NeededSlots}) when the times are not broadcast.
   */
  record SpineScan(
      long rows,
      long min,
      long max,
      Optional<Broadcast<SpineTimes>> times,
      Optional<List<long[]>> pairs) {
    boolean empty() {
      return rows == 0;
    }
  }

  /**
   * Reads the spine once: when a key's type can be hashed exactly and {@code spineTimesLimit} is
   * not 0, one job packs each partition's (entity hash, time) pairs (a partition with more than
   * twice its share of the limit sends only its count and range), and the times are broadcast when
   * the spine has at most {@code spineTimesLimit} rows and its entities have at least {@code
   * minSpineRowsPerEntity} rows each on average (with about one spine row per entity there is
   * little to thin between spine rows, and the Bloom filter of {@link #slotFilter} prunes nearly as
   * many rows for fewer memory reads per row: measured, bench/RESULTS.md). A partition that held
   * more than its share of a spine within the limit is packed again, uncapped. Otherwise one
   * aggregation reads the count and range, and the join uses the Bloom filter.
   */
  private SpineScan scanSpine(Dataset<Row> spineData) {
    Dataset<Row> pairs =
        spineData
            .where(present(spine.keys(), spine.timestamp()))
            .select(entityHash(spine.keys()).as("h"), unix_micros(col(spine.timestamp())).as("t"));
    if (spineTimesLimit == 0 || !hashableKeys(spineData.schema())) {
      Row r = pairs.agg(min("t"), max("t"), count(lit(1))).first();
      return r.getLong(2) == 0
          ? new SpineScan(0, 0, 0, Optional.empty(), Optional.empty())
          : new SpineScan(
              r.getLong(2), r.getLong(0), r.getLong(1), Optional.empty(), Optional.empty());
    }
    JavaRDD<InternalRow> rows = SparkInternals.internalRows(pairs).toJavaRDD();
    long cap = Math.max(1024, 2 * spineTimesLimit / Math.max(1, rows.getNumPartitions()));
    List<SpineTimes.Packed> packs = rows.mapPartitions(new SpineTimes.Pack(cap)).collect();
    long n = 0;
    long lo = Long.MAX_VALUE;
    long hi = Long.MIN_VALUE;
    for (SpineTimes.Packed p : packs) {
      n += p.rows;
      lo = Math.min(lo, p.min);
      hi = Math.max(hi, p.max);
    }
    if (n == 0) {
      return new SpineScan(0, 0, 0, Optional.empty(), Optional.empty());
    }
    if (n > spineTimesLimit) {
      return new SpineScan(n, lo, hi, Optional.empty(), Optional.empty());
    }
    if (packs.stream().anyMatch(p -> p.pairs == null)) {
      LOG.info(
          "{}: a spine partition held more than {} of its {} rows; packing its times again, whole",
          this,
          cap,
          n);
      packs = rows.mapPartitions(new SpineTimes.Pack(Long.MAX_VALUE)).collect();
    }
    List<long[]> packed = packs.stream().map(p -> p.pairs).toList();
    Optional<SpineTimes> times = SpineTimes.of(packed, minSpineRowsPerEntity);
    JavaSparkContext jsc =
        JavaSparkContext.fromSparkContext(spineData.sparkSession().sparkContext());
    return new SpineScan(n, lo, hi, times.map(jsc::broadcast), Optional.of(packed));
  }

  /** The thinning of a source's rows of {@code schema} (its own columns and its entity hash). */
  private LatestPerInterval thinning(
      StructType schema, Broadcast<SpineTimes> times, FeatureSource src, boolean bucketed) {
    List<String> entity = new ArrayList<>(spine.keys());
    boolean withBucket = Arrays.asList(schema.fieldNames()).contains(BUCKET);
    if (withBucket) {
      entity.add(BUCKET);
    }
    return new LatestPerInterval(
        times,
        micros(src.ttl()),
        schema.fieldIndex(ENTITY_HASH),
        schema.fieldIndex(TS),
        withBucket ? schema.fieldIndex(BUCKET) : -1,
        bucketed,
        entity.stream().mapToInt(schema::fieldIndex).toArray(),
        Arrays.stream(schema.fields()).map(StructField::dataType).toArray(DataType[]::new));
  }

  /**
   * The join without a shuffle, when the spine's times are broadcast: each source is read now,
   * thinned, and its rows that some spine row can see are gathered on the driver into its answers
   * per spine position ({@link FeatureAnswers}), which are broadcast; the result is then one pass
   * over the spine ({@link SpineLookup}). Empty — the caller shuffles instead — when the sources'
   * answers would take more than {@link Builder#optBroadcastFeatureBytes} (or half the driver's
   * {@code spark.driver.maxResultSize}), or when two of a source's entities share a key hash.
   */
  private Optional<Dataset<Row>> lookedUp(
      Dataset<Row> spineData, SpineScan range, Broadcast<SpineTimes> times) {
    SparkContext sc = spineData.sparkSession().sparkContext();
    long maxResult = sc.getConf().getSizeAsBytes("spark.driver.maxResultSize", "1g");
    long limit = maxResult > 0 ? Math.min(answerBytes, maxResult / 2) : answerBytes;
    StructType spineSchema = spineData.schema();
    String[] keyNames = spine.keys().toArray(String[]::new);
    DataType[] keyTypes =
        spine.keys().stream().map(k -> spineSchema.apply(k).dataType()).toArray(DataType[]::new);
    int n = sources.size();
    // what all sources' answers may hold: the rows gathered, and 16 bytes per spine position each
    long left = limit;
    long positions = 16L * times.value().size();
    FeatureAnswers[] answers = new FeatureAnswers[n];
    EntityKeys[] sourceKeys = new EntityKeys[n];
    int[][] featureColumns = new int[n][];
    for (int i = 0; i < n; i++) {
      FeatureSource src = sources.get(i);
      Dataset<Row> rows = src(i, range, Optional.empty(), 0, true, false);
      StructType schema = rows.schema();
      if (Math.multiplyHigh(range.rows(), schema.defaultSize()) != 0
          || range.rows() * schema.defaultSize() + positions > left) {
        LOG.info(
            "{}: {} spine rows times rows of ~{} bytes of feature source {} may exceed the {} bytes"
                + " left of {}; joining by a shuffle.",
            this,
            range.rows(),
            schema.defaultSize(),
            src.name(),
            left,
            limit);
        return Optional.empty();
      }
      sourceKeys[i] =
          new EntityKeys(
              spine.keys().stream().mapToInt(schema::fieldIndex).toArray(), keyTypes, keyNames);
      int width = checked.selections().get(i).size();
      featureColumns[i] = new int[width];
      for (int j = 0; j < width; j++) {
        featureColumns[i][j] = schema.fieldIndex(featureColumn(i, j));
      }
      Optional<FeatureAnswers> built =
          gathered(src, rows, times, sourceKeys[i], left - positions, limit);
      if (built.isEmpty()) {
        return Optional.empty();
      }
      answers[i] = built.get();
      left -= positions + answers[i].bytes();
    }
    long broadcasting = System.nanoTime();
    Broadcast<FeatureAnswers[]> shared = JavaSparkContext.fromSparkContext(sc).broadcast(answers);
    LOG.info("{}: answers broadcast in {} s", this, seconds(broadcasting));
    List<Column> columns = new ArrayList<>();
    for (StructField f : spineSchema.fields()) {
      columns.add(col(f.name()));
    }
    columns.add(entityHash(spine.keys()).as(ENTITY_HASH));
    columns.add(unix_micros(col(spine.timestamp())).as(TS));
    EntityKeys spineKeys =
        new EntityKeys(
            spine.keys().stream().mapToInt(spineSchema::fieldIndex).toArray(), keyTypes, keyNames);
    SpineLookup lookup =
        new SpineLookup(
            times,
            shared,
            sources.stream().mapToLong(s -> micros(s.ttl())).toArray(),
            checked.output(),
            spineSchema.size(),
            spineKeys,
            sourceKeys,
            featureColumns);
    Dataset<Row> in = spineData.select(columns.toArray(Column[]::new));
    return Optional.of(SparkInternals.mapPartitions(in, lookup, checked.output()));
  }

  /**
   * Source {@code src}'s answers: its {@code rows} (its own narrow layout, with the entity hash)
   * thinned, and those a spine row can see gathered on the driver as each scan task ends. Empty
   * when they take more than {@code bytes} (a task with more than {@code taskBytes} sends none) or
   * two of its entities share a key hash.
   */
  private Optional<FeatureAnswers> gathered(
      FeatureSource src,
      Dataset<Row> rows,
      Broadcast<SpineTimes> times,
      EntityKeys keys,
      long bytes,
      long taskBytes) {
    StructType schema = rows.schema();
    long started = System.nanoTime();
    FeatureAnswers.Merger merger =
        new FeatureAnswers.Merger(times.value(), schema.size(), keys, src.name(), bytes);
    FeatureAnswers.Collect collect =
        new FeatureAnswers.Collect(
            times,
            micros(src.ttl()),
            schema.fieldIndex(ENTITY_HASH),
            schema.fieldIndex(TS),
            taskBytes);
    JavaRDD<FeatureAnswers.Batch> batches =
        SparkInternals.internalRows(rows)
            .toJavaRDD()
            .mapPartitions(collect.after(thinning(schema, times, src, false)));
    rows.sparkSession()
        .sparkContext()
        .runJob(
            batches.rdd(),
            new TaskBatches(),
            new AbstractFunction2<Object, FeatureAnswers.Batch[], BoxedUnit>() {
              @Override
              public BoxedUnit apply(Object partition, FeatureAnswers.Batch[] batches) {
                for (FeatureAnswers.Batch batch : batches) {
                  merger.add(batch);
                }
                return BoxedUnit.UNIT;
              }
            },
            ClassTag$.MODULE$.apply(FeatureAnswers.Batch[].class));
    String read = seconds(started);
    long building = System.nanoTime();
    Optional<FeatureAnswers> built = merger.build();
    if (built.isEmpty()) {
      LOG.info(
          "{}: feature source {}: {}; joining by a shuffle.",
          this,
          src.name(),
          merger.givenUp().orElse("it gave up"));
    } else {
      LOG.info(
          "{}: gathered {} rows ({} MiB) of feature source {} that spine rows can see, in {} s"
              + " (answers built in {} s); answers for {} spine positions hold {} MiB",
          this,
          merger.rowsReceived(),
          merger.bytesReceived() >> 20,
          src.name(),
          read,
          seconds(building),
          times.value().size(),
          built.get().bytes() >> 20);
    }
    return built;
  }

  private static String seconds(long since) {
    return String.format(Locale.ROOT, "%.2f", (System.nanoTime() - since) / 1e9);
  }

  /** A scan task's batches (what {@link FeatureAnswers.Collect} returns), sent as one result. */
  private static final class TaskBatches
      extends AbstractFunction1<
          scala.collection.Iterator<FeatureAnswers.Batch>, FeatureAnswers.Batch[]>
      implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public FeatureAnswers.Batch[] apply(scala.collection.Iterator<FeatureAnswers.Batch> batches) {
      List<FeatureAnswers.Batch> all = new ArrayList<>();
      while (batches.hasNext()) {
        all.add(batches.next());
      }
      return all.toArray(FeatureAnswers.Batch[]::new);
    }
  }

  /** The 64-bit hash of an entity's keys (the same on spine and feature rows: same types). */
  private static Column entityHash(List<String> keys) {
    return xxhash64(keys.stream().map(k -> col(k)).toArray(Column[]::new));
  }

  /** Rows whose keys and time are all present. */
  private static Column present(List<String> keys, String timestamp) {
    Column present = col(timestamp).isNotNull();
    for (String k : keys) {
      present = present.and(col(k).isNotNull());
    }
    return present;
  }

  private boolean hashableKeys(StructType spineSchema) {
    return spine.keys().stream().allMatch(k -> hashableKey(spineSchema.apply(k).dataType()));
  }

  /**
   * The Bloom filter of the (source, entity, time slot) triples the spine needs ({@link
   * NeededSlots}), built on the driver from the spine's pairs when its one pass packed them, else
   * by a second pass over the spine. Empty when a key's type has values that are equal with
   * different bytes (floating point, a collated string), whose hashes could differ.
   */
  private Optional<Broadcast<NeededSlots>> slotFilter(Dataset<Row> spineData, SpineScan range) {
    if (!hashableKeys(spineData.schema())) {
      return Optional.empty();
    }
    long started = System.nanoTime();
    long[] ttls = sources.stream().mapToLong(s -> micros(s.ttl())).toArray();
    NeededSlots filter;
    if (range.pairs().isPresent()) {
      filter = NeededSlots.of(range.pairs().get(), range.rows(), ttls);
    } else {
      Dataset<Row> pairs =
          spineData
              .where(present(spine.keys(), spine.timestamp()))
              .select(entityHash(spine.keys()), unix_micros(col(spine.timestamp())));
      JavaRDD<NeededSlots> filled =
          SparkInternals.internalRows(pairs)
              .toJavaRDD()
              .mapPartitions(new NeededSlots.Fill(range.rows(), ttls));
      // OR-ed on the executors, about 8 at a time, so that the driver receives a few filters (up
      // to 64 MiB each), not one per partition, within spark.driver.maxResultSize
      int depth = (int) Math.ceil(Math.log(Math.max(2, filled.getNumPartitions())) / Math.log(8));
      filter =
          filled.treeReduce(
              (a, b) -> {
                a.or(b);
                return a;
              },
              Math.max(2, depth));
    }
    LOG.info(
        "{}: the filter of the spine's time slots ({} KiB) built in {} s{}",
        this,
        filter.bytes() >> 10,
        seconds(started),
        range.pairs().isPresent() ? " from its packed times" : " by a second pass");
    return Optional.of(
        JavaSparkContext.fromSparkContext(spineData.sparkSession().sparkContext())
            .broadcast(filter));
  }

  /** Whether equal values of the type always have equal bytes, hence equal hashes. */
  private static boolean hashableKey(DataType t) {
    return t.equals(DataTypes.ByteType)
        || t.equals(DataTypes.ShortType)
        || t.equals(DataTypes.IntegerType)
        || t.equals(DataTypes.LongType)
        || t instanceof DecimalType
        || t.equals(DataTypes.StringType)
        || t.equals(DataTypes.BinaryType)
        || t.equals(DataTypes.BooleanType)
        || t.equals(DataTypes.DateType)
        || t.equals(DataTypes.TimestampType)
        || t.equals(DataTypes.TimestampNTZType);
  }

  private int offset(int source) {
    int o = 0;
    for (int i = 0; i < source; i++) {
      o += checked.selections().get(i).size();
    }
    return o;
  }

  static long micros(Duration d) {
    return Math.multiplyExact(d.getSeconds(), 1_000_000L) + d.getNano() / 1_000;
  }

  private static String featureColumn(int source, int column) {
    return JoinChecks.RESERVED + "f" + source + "_" + column;
  }

  /** Fewer spine rows per entity than this on average, and the join uses the Bloom filter. */
  static final long MIN_SPINE_ROWS_PER_ENTITY = 4;

  /** The default of {@link Builder#optBroadcastFeatureBytes}: 256 MiB. */
  public static final long BROADCAST_FEATURE_BYTES = 256L << 20;

  /** The default of {@link Builder#optBroadcastSpineRows}: at most 80 MiB of times. */
  public static final long BROADCAST_SPINE_ROWS = 4_000_000;

  /** Position of the first spine column in the union's rows (after kind, time and bucket). */
  static final int FIRST_SPINE_COLUMN = 3;

  private static final String KIND = JoinChecks.RESERVED + "kind";
  private static final String TS = JoinChecks.RESERVED + "ts";
  private static final String BUCKET = JoinChecks.RESERVED + "bucket";
  private static final String GROUP = JoinChecks.RESERVED + "group";
  private static final String ENTITY_HASH = JoinChecks.RESERVED + "entity";

  @Override
  public String toString() {
    return String.format("point-in-time join of %s with %s", spine, sources);
  }
}
