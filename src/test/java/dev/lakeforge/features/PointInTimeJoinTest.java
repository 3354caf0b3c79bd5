package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.features.FeatureSource.Selected;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.testing.SparkTestBase;
import dev.lakeforge.testing.TaskTotals;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The point-in-time join against a brute-force oracle (plain Java over the collected rows), on
 * random data read from real Delta and Iceberg tables, including an entity that holds half the
 * rows; and the merge's streaming (it reads nothing past the spine row it emits).
 */
class PointInTimeJoinTest extends SparkTestBase {
  private static final Instant T0 = Instant.parse("2026-01-05T00:00:00Z");
  private static final Duration RISK_TTL = Duration.ofHours(2);
  private static final Duration ACTIVITY_TTL = Duration.ofDays(1);
  private static final int MINUTES = 3 * 24 * 60;

  private static final String SPINE_COLUMNS =
      "[{name: id, type: bigint}, {name: k1, type: string}, {name: k2, type: int},"
          + " {name: as_of, type: timestamp}, {name: label, type: int}]";
  private static final String RISK_COLUMNS =
      "[{name: k1, type: string}, {name: k2, type: int}, {name: feature_ts, type: timestamp},"
          + " {name: amount, type: double}, {name: cnt, type: bigint}]";
  private static final String ACTIVITY_COLUMNS =
      "[{name: cust, type: string}, {name: num, type: int}, {name: ts, type: timestamp},"
          + " {name: amount, type: double}, {name: active, type: boolean}]";

  /** Random rows with every edge case the rule has; see {@link #generate}. */
  record Data(List<Row> spine, List<Row> riskEarly, List<Row> riskLate, List<Row> activity) {}

  private static Timestamp at(int minute) {
    return Timestamp.from(T0.plusSeconds(60L * minute));
  }

  private static Data generate(long seed) {
    Random rnd = new Random(seed);
    Set<List<Object>> entities = new LinkedHashSet<>();
    // The collision pair: equal as concatenated strings, different entities.
    entities.add(Arrays.asList("1", 12));
    entities.add(Arrays.asList("11", 2));
    while (entities.size() < 300) {
      entities.add(Arrays.asList(Integer.toString(rnd.nextInt(60)), rnd.nextInt(40)));
    }
    List<List<Object>> keys = new ArrayList<>(entities);
    List<Row> riskEarly = new ArrayList<>();
    List<Row> riskLate = new ArrayList<>();
    List<Row> activity = new ArrayList<>();
    Map<List<Object>, List<Integer>> riskMinutes = new HashMap<>();
    for (List<Object> e : keys) {
      // Some entities have no history at all in one or both sources.
      if (rnd.nextInt(10) < 8 || e.get(0).equals("1") || e.get(0).equals("11")) {
        List<Integer> minutes = distinctMinutes(rnd, 1 + rnd.nextInt(30));
        riskMinutes.put(e, minutes);
        for (int m : minutes) {
          Row r =
              RowFactory.create(
                  e.get(0),
                  e.get(1),
                  at(m),
                  rnd.nextInt(8) == 0 ? null : Math.round(rnd.nextDouble() * 1e4) / 100.0,
                  rnd.nextInt(8) == 0 ? null : (long) rnd.nextInt(1000));
          // Late data: a fifth of the rows, at any time, arrive in a second commit.
          (rnd.nextInt(5) == 0 ? riskLate : riskEarly).add(r);
        }
      }
      if (rnd.nextInt(10) < 7) {
        for (int m : distinctMinutes(rnd, 1 + rnd.nextInt(10))) {
          activity.add(
              RowFactory.create(
                  e.get(0),
                  e.get(1),
                  at(m),
                  rnd.nextInt(6) == 0 ? null : (double) rnd.nextInt(500),
                  rnd.nextBoolean()));
        }
      }
    }
    // Feature rows with a null key part must never match anything (not even spine null keys).
    for (int i = 0; i < 40; i++) {
      riskEarly.add(
          RowFactory.create(
              i % 2 == 0 ? null : "1", i % 2 == 0 ? 12 : null, at(rnd.nextInt(MINUTES)), 1.0, 1L));
    }
    List<Row> spine = new ArrayList<>();
    long id = 0;
    while (spine.size() < 3000) {
      List<Object> e = keys.get(rnd.nextInt(keys.size()));
      Object k1 = e.get(0);
      Object k2 = e.get(1);
      int pick = rnd.nextInt(100);
      if (pick < 3) {
        k1 = null;
      } else if (pick < 6) {
        k2 = null;
      }
      List<Integer> hist = riskMinutes.getOrDefault(e, List.of());
      int mode = rnd.nextInt(10);
      Timestamp ts;
      if (!hist.isEmpty() && mode < 2) {
        ts = at(hist.get(rnd.nextInt(hist.size()))); // exactly on a feature row
      } else if (!hist.isEmpty() && mode < 4) {
        // exactly on the ttl edge of a feature row, or just past it
        int m =
            hist.get(rnd.nextInt(hist.size())) + (int) RISK_TTL.toMinutes() + (mode == 3 ? 1 : 0);
        ts = at(m);
      } else if (mode == 4 && rnd.nextInt(5) == 0) {
        ts = null;
      } else {
        ts = at(rnd.nextInt(MINUTES + 240) - 120);
      }
      Integer label = rnd.nextInt(10) == 0 ? null : rnd.nextInt(2);
      spine.add(RowFactory.create(id++, k1, k2, ts, label));
      if (rnd.nextInt(10) == 0) { // ties on the spine: the same entity and time again
        spine.add(RowFactory.create(id++, k1, k2, ts, rnd.nextInt(2)));
      }
    }
    return new Data(spine, riskEarly, riskLate, activity);
  }

  private static List<Integer> distinctMinutes(Random rnd, int count) {
    Set<Integer> s = new LinkedHashSet<>();
    while (s.size() < count) {
      s.add(rnd.nextInt(MINUTES));
    }
    return new ArrayList<>(s);
  }

  private static Dataset<Row> table(TableFormat f, String name, String columns, List<Row> rows) {
    String table = "pit_" + f.label() + "." + name;
    TableSpec spec =
        YamlSpecReader.parse(
            "name: %s\nformat: %s\ncolumns: %s\n".formatted(table, f.label(), columns),
            TableSpec.class,
            "test spec");
    new ApplyTablesJob(List.of(spec)).run(spark);
    String sqlName = f.sqlName(TableName.parse(table), "iceberg");
    append(sqlName, spec.schema(), rows);
    return spark.table(sqlName);
  }

  private static void append(String sqlName, StructType schema, List<Row> rows) {
    spark.createDataFrame(rows, schema).write().insertInto(sqlName);
  }

  /**
   * The rule, by brute force: for each spine row and source, the feature row of the same entity
   * with the greatest time in [t - ttl, t]; nulls if none, if a key part is null, or if t is null.
   */
  private static List<List<Object>> oracle(
      List<Row> spine, List<OracleSource> sources, Function<Row, List<Object>> spineValues) {
    List<List<Object>> out = new ArrayList<>();
    for (Row s : spine) {
      List<Object> row = new ArrayList<>(spineValues.apply(s));
      Object k1 = s.get(1);
      Object k2 = s.get(2);
      Timestamp t = (Timestamp) s.get(3);
      for (OracleSource src : sources) {
        Row best = null;
        if (k1 != null && k2 != null && t != null) {
          Instant from = t.toInstant().minus(src.ttl());
          for (Row f : src.rows()) {
            Instant ft = ((Timestamp) f.get(2)).toInstant();
            if (k1.equals(f.get(0))
                && k2.equals(f.get(1))
                && !ft.isAfter(t.toInstant())
                && !ft.isBefore(from)) {
              if (best != null && ((Timestamp) best.get(2)).toInstant().equals(ft)) {
                throw new AssertionError("generated a tie: " + f);
              }
              if (best == null || ft.isAfter(((Timestamp) best.get(2)).toInstant())) {
                best = f;
              }
            }
          }
        }
        for (int c : src.columns()) {
          row.add(best == null ? null : best.get(c));
        }
      }
      out.add(row);
    }
    return out;
  }

  record OracleSource(List<Row> rows, Duration ttl, int... columns) {}

  private static List<List<Object>> values(Dataset<Row> result) {
    return result.collectAsList().stream()
        .map(r -> Arrays.asList(IntStream.range(0, r.length()).mapToObj(r::get).toArray()))
        .collect(Collectors.toList());
  }

  private static List<Object> asList(Row r) {
    return Arrays.asList(IntStream.range(0, r.length()).mapToObj(r::get).toArray());
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void matchesTheBruteForceOracleOnTablesOfBothFormats(TableFormat f) {
    TableFormat other = f == TableFormat.DELTA ? TableFormat.ICEBERG : TableFormat.DELTA;
    Data d = generate(20261202L);
    Dataset<Row> spineTable = table(f, "spine", SPINE_COLUMNS, d.spine());
    Dataset<Row> riskTable = table(f, "risk", RISK_COLUMNS, d.riskEarly());
    append(
        f.sqlName(TableName.parse("pit_" + f.label() + ".risk"), "iceberg"),
        riskTable.schema(),
        d.riskLate());
    // The activity source lives in the other format: the join crosses formats.
    Dataset<Row> activityTable = table(other, "activity", ACTIVITY_COLUMNS, d.activity());

    Spine spine = new Spine("spine", spineTable, List.of("k1", "k2"), "as_of");
    FeatureSource risk =
        new FeatureSource(
            "risk",
            riskTable,
            List.of("k1", "k2"),
            "feature_ts",
            RISK_TTL,
            List.of(new Selected("amount", "risk_amount"), Selected.of("cnt")));
    // No selection: every column but the keys and the time (amount, active).
    FeatureSource activity =
        new FeatureSource(
            "activity", activityTable, List.of("cust", "num"), "ts", ACTIVITY_TTL, List.of());

    List<Row> allRisk = new ArrayList<>(d.riskEarly());
    allRisk.addAll(d.riskLate());
    List<List<Object>> expected =
        oracle(
            d.spine(),
            List.of(
                new OracleSource(allRisk, RISK_TTL, 3, 4),
                new OracleSource(d.activity(), ACTIVITY_TTL, 3, 4)),
            PointInTimeJoinTest::asList);

    PointInTimeJoin join =
        PointInTimeJoin.builder(spine)
            .add(risk)
            .add(activity)
            .broadcastFromSpineRowsPerEntity(0)
            .build();
    assertThat(join.schema().fieldNames())
        .containsExactly(
            "id", "k1", "k2", "as_of", "label", "risk_amount", "cnt", "amount", "active");
    Dataset<Row> result = join.join();
    assertThat(result.columns()).isEqualTo(join.schema().fieldNames());
    assertThat(values(result)).containsExactlyInAnyOrderElementsOf(expected);

    // The same with time buckets (a skewed entity's history spread over tasks), with the path the
    // spine's shape chooses: same rows.
    PointInTimeJoin bucketed =
        PointInTimeJoin.builder(spine)
            .add(risk)
            .add(activity)
            .optTimeBuckets(Duration.ofDays(1))
            .build();
    assertThat(values(bucketed.join())).containsExactlyInAnyOrderElementsOf(expected);

    // The same through the Bloom filter a spine too large to broadcast its times gets.
    PointInTimeJoin bloom =
        PointInTimeJoin.builder(spine).add(risk).add(activity).optBroadcastSpineRows(0).build();
    assertThat(values(bloom.join())).containsExactlyInAnyOrderElementsOf(expected);
    // ... and with the spine in 40 partitions, whose filters are OR-ed on the executors first.
    Spine spread = new Spine("spine", spineTable.repartition(40), List.of("k1", "k2"), "as_of");
    PointInTimeJoin bloomSpread =
        PointInTimeJoin.builder(spread).add(risk).add(activity).optBroadcastSpineRows(0).build();
    assertThat(values(bloomSpread.join())).containsExactlyInAnyOrderElementsOf(expected);

    assertEdgeCasesWereExercised(d, expected);
  }

  /**
   * One entity ("hot", 7) holds half the feature rows and half the spine rows; 200 others share the
   * rest. Without buckets the hot entity is merged by one task, streaming; with buckets its rows
   * are spread over several tasks. Both give the oracle's rows.
   */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aSkewedEntityGivesTheOraclesRowsAndTimeBucketsSpreadItOverTasks(TableFormat f) {
    Random rnd = new Random(7L);
    List<Row> features = new ArrayList<>();
    for (int m : distinctMinutes(rnd, 2000)) {
      features.add(RowFactory.create("hot", 7, at(m), (double) m, (long) m % 13));
    }
    for (int e = 0; e < 200; e++) {
      for (int m : distinctMinutes(rnd, 10)) {
        features.add(RowFactory.create(Integer.toString(e), e, at(m), (double) -m, null));
      }
    }
    List<Row> spineRows = new ArrayList<>();
    for (long id = 0; id < 2000; id++) {
      int m = rnd.nextInt(MINUTES + 240) - 120;
      int e = rnd.nextInt(200);
      spineRows.add(
          id % 2 == 0
              ? RowFactory.create(id, "hot", 7, at(m), 1)
              : RowFactory.create(id, Integer.toString(e), e, at(m), 0));
    }
    Dataset<Row> spineTable = table(f, "skew_spine", SPINE_COLUMNS, spineRows);
    Dataset<Row> riskTable = table(f, "skew_risk", RISK_COLUMNS, features);
    Spine spine = new Spine("spine", spineTable, List.of("k1", "k2"), "as_of");
    FeatureSource risk =
        FeatureSource.of("risk", riskTable, List.of("k1", "k2"), "feature_ts", RISK_TTL);
    List<List<Object>> expected =
        oracle(
            spineRows,
            List.of(new OracleSource(features, RISK_TTL, 3, 4)),
            PointInTimeJoinTest::asList);
    assertThat(expected.stream().filter(r -> "hot".equals(r.get(1)) && r.get(5) != null).count())
        .as("hot spine rows that found a feature row")
        .isGreaterThan(500);

    // Small test data would be coalesced into one partition: keep the shuffle's partitions.
    spark.conf().set("spark.sql.adaptive.coalescePartitions.enabled", "false");
    spark.conf().set("spark.sql.shuffle.partitions", "8");
    try {
      // The shuffled path (the one-pass lookup has no per-entity task: see
      // theSpinePassJoinsWithoutAShuffle)
      Merged plain =
          merged(PointInTimeJoin.builder(spine).add(risk).optBroadcastFeatureBytes(0).build());
      assertThat(plain.rows()).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(plain.hotPartitions())
          .as("without buckets, one task merges the hot entity (streaming, one row held)")
          .isEqualTo(1);

      Merged bucketed =
          merged(
              PointInTimeJoin.builder(spine)
                  .add(risk)
                  .optTimeBuckets(Duration.ofHours(6))
                  .optBroadcastFeatureBytes(0)
                  .build());
      assertThat(bucketed.rows()).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(bucketed.hotPartitions())
          .as("with 6 h buckets over 3 days, the hot entity's rows are merged by several tasks")
          .isGreaterThanOrEqualTo(3);
    } finally {
      spark.conf().unset("spark.sql.adaptive.coalescePartitions.enabled");
      spark.conf().set("spark.sql.shuffle.partitions", "2");
    }
  }

  /**
   * A join's rows, and how many of the merge's partitions (tasks) emitted rows of the hot entity.
   */
  record Merged(List<List<Object>> rows, long hotPartitions) {}

  private static Merged merged(PointInTimeJoin join) {
    List<List<Object>> rows = new ArrayList<>();
    Set<Object> hot = new java.util.HashSet<>();
    Dataset<Row> withTask =
        join.join().withColumn("__task", org.apache.spark.sql.functions.spark_partition_id());
    for (List<Object> r : values(withTask)) {
      List<Object> row = r.subList(0, r.size() - 1);
      if ("hot".equals(row.get(1))) {
        hot.add(r.get(r.size() - 1));
      }
      rows.add(row);
    }
    return new Merged(rows, hot.size());
  }

  /**
   * The merge streams: fed a million union rows of one entity (built lazily, never held), it emits
   * each spine row having read nothing past it, so what a task holds does not grow with the
   * entity's history — only the latest feature row.
   */
  @Test
  void theMergeReadsNothingPastTheSpineRowItEmits() {
    long ttl = PointInTimeJoin.micros(Duration.ofMinutes(30));
    org.apache.spark.sql.types.StructType union =
        new org.apache.spark.sql.types.StructType()
            .add("kind", "int")
            .add("ts", "bigint")
            .add("bucket", "bigint")
            .add("k", "string")
            .add("t", "bigint")
            .add("risk", "double")
            .add("group", "bigint");
    AsOfMerge merge =
        new AsOfMerge(
            union,
            2,
            new int[] {PointInTimeJoin.FIRST_SPINE_COLUMN},
            new String[] {"k"},
            new long[] {ttl},
            new int[] {1},
            new String[] {"risk"},
            6);
    int total = 1_000_000;
    long[] pulled = {0};
    org.apache.spark.unsafe.types.UTF8String hot =
        org.apache.spark.unsafe.types.UTF8String.fromString("hot");
    // one row object, reused for every row, as Spark's sort does
    org.apache.spark.sql.catalyst.expressions.GenericInternalRow row =
        new org.apache.spark.sql.catalyst.expressions.GenericInternalRow(7);
    java.util.Iterator<org.apache.spark.sql.catalyst.InternalRow> in =
        new java.util.Iterator<>() {
          @Override
          public boolean hasNext() {
            return pulled[0] < total;
          }

          @Override
          public org.apache.spark.sql.catalyst.InternalRow next() {
            long i = pulled[0]++;
            long ts = i * 60_000_000L; // one row a minute
            // every 1000th row is a spine row (kind 1), the rest feature rows (kind 0)
            boolean spine = i % 1000 == 999;
            row.update(0, spine ? 1 : 0);
            row.update(1, 2 * ts + (spine ? 1 : 0)); // the join's order column

            row.update(2, 0L);
            row.update(3, hot);
            row.update(4, spine ? ts : null);
            row.update(5, spine ? null : (double) i);
            row.update(6, 42L << 32); // one entity: one hash
            return row;
          }
        };
    java.util.Iterator<org.apache.spark.sql.catalyst.InternalRow> out = merge.call(in);
    long emitted = 0;
    while (out.hasNext()) {
      org.apache.spark.sql.catalyst.InternalRow r = out.next();
      long spineRow = 1000 * emitted + 999;
      assertThat(pulled[0])
          .as("rows read when spine row %d is emitted", spineRow)
          .isEqualTo(spineRow + 1);
      assertThat(r.getUTF8String(0).toString()).isEqualTo("hot");
      assertThat(r.getLong(1)).isEqualTo(spineRow * 60_000_000L);
      assertThat(r.getDouble(2))
          .as("its feature: the row a minute before")
          .isEqualTo((double) spineRow - 1);
      emitted++;
    }
    assertThat(emitted).isEqualTo(total / 1000);
  }

  /**
   * Feature rows that no spine row can see stay out of the shuffle: entities not in the spine, and
   * an entity's history far from its spine rows. The spine's broadcast times test each row exactly;
   * a spine too large for that gets a Bloom filter of its time slots, which keeps a few more.
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void featureRowsNoSpineRowCanSeeAreNotShuffled(boolean broadcastTimes) {
    List<Row> features = new ArrayList<>();
    for (int e = 0; e < 1000; e++) {
      for (int d = 0; d < 10; d++) {
        features.add(RowFactory.create("e" + e, e, at(d * 24 * 60 + e % 60), (double) d));
      }
    }
    // 20 of the 1000 entities, each asked on its last day: it can see that day's row only
    List<Row> spineRows = new ArrayList<>();
    for (int e = 0; e < 1000; e += 50) {
      spineRows.add(RowFactory.create("e" + e, e, at(9 * 24 * 60 + 100), e));
    }
    Spine spine = smallSpine(spineRows.toArray(Row[]::new));
    FeatureSource source = smallSource("days", features, Duration.ofHours(12));

    PointInTimeJoin join =
        PointInTimeJoin.builder(spine)
            .add(source)
            .optBroadcastSpineRows(broadcastTimes ? 1_000 : 0)
            .broadcastFromSpineRowsPerEntity(0)
            .optBroadcastFeatureBytes(0)
            .build();
    TaskTotals.Measured<List<List<Object>>> run = TaskTotals.of(spark, () -> values(join.join()));

    assertThat(run.value())
        .containsExactlyInAnyOrderElementsOf(
            spineRows.stream()
                .map(r -> Arrays.<Object>asList(r.get(0), r.get(1), r.get(2), r.get(3), 9.0))
                .toList());
    // needed: 20 spine rows and 20 feature rows; the Bloom filter also keeps the rest of each
    // needed slot, and its false positives about 3 % of the 10,000 others
    if (broadcastTimes) {
      // the spine's pass packs its times, with no aggregation: nothing else is shuffled
      assertThat(run.totals().shuffleRows).as("rows shuffled").isEqualTo(40L);
    } else {
      assertThat(run.totals().shuffleRows)
          .as("rows shuffled, of 20 spine rows and 10,000 feature rows")
          .isBetween(40L, 1_000L);
    }
  }

  /**
   * When each entity has many feature rows between two of its spine rows (written in time order, as
   * feature tables are), only the latest of them is any spine row's answer, and only it leaves the
   * scan's task.
   */
  @Test
  void betweenTwoSpineRowsOnlyAnEntitysLatestFeatureRowIsShuffled() {
    Minutes d = minutes();
    TaskTotals.Measured<List<List<Object>>> run = joined(d, 0);

    assertThat(run.value()).containsExactlyInAnyOrderElementsOf(d.expected());
    // 500 spine rows and 500 feature rows (one per entity and interval, per scan task: the two
    // tasks split the history, so an interval on the split is sent twice); a cache slot two
    // entities share sends a few more
    assertThat(run.totals().shuffleRows)
        .as("rows shuffled, of 500 spine rows and 50,000 feature rows")
        .isBetween(1_000L, 2_000L);
  }

  /**
   * With the spine's times broadcast and the feature rows its rows can see small enough, the join
   * gathers those rows on the driver and passes over the spine once: nothing is shuffled. Past the
   * byte limit it shuffles, with the same rows.
   */
  @Test
  void theSpinePassJoinsWithoutAShuffleUnlessTheFeatureRowsExceedTheLimit() {
    Minutes d = minutes();
    TaskTotals.Measured<List<List<Object>>> run =
        joined(d, PointInTimeJoin.BROADCAST_FEATURE_BYTES);
    assertThat(run.value()).containsExactlyInAnyOrderElementsOf(d.expected());
    assertThat(run.totals().shuffleRows).as("rows shuffled").isZero();

    TaskTotals.Measured<List<List<Object>>> overLimit = joined(d, 10_000);
    assertThat(overLimit.value()).containsExactlyInAnyOrderElementsOf(d.expected());
    assertThat(overLimit.totals().shuffleRows).as("rows shuffled").isGreaterThan(1_000L);
  }

  /**
   * The spine's one pass packs each partition's times up to twice its share of the limit; a
   * partition over that (a skewed spine within the limit) is packed again, whole, and the join
   * still takes the no-shuffle path with the oracle's rows.
   */
  @Test
  void aSkewedSpinePartitionIsPackedAgainWhole() {
    Minutes d = minutes();
    List<Row> big = new ArrayList<>();
    List<Row> small = new ArrayList<>();
    List<List<Object>> expected = new ArrayList<>();
    for (int e = 0; e < 50; e++) {
      for (int k = 0; k < 30; k++) {
        int minute = (k * 33 + e) % 1000;
        Row r = RowFactory.create("e" + e, e, at(minute), k);
        (big.size() < 1_491 ? big : small).add(r);
        expected.add(Arrays.asList("e" + e, e, at(minute), k, (double) minute));
      }
    }
    // one partition of 1,491 rows and 9 of one row: a cap of max(1,024, 2 × 2,000 / 10) rows
    Dataset<Row> skewed =
        spark
            .createDataFrame(big, SMALL_SPINE)
            .coalesce(1)
            .union(spark.createDataFrame(small, SMALL_SPINE).repartition(9));
    assertThat(skewed.javaRDD().getNumPartitions()).isEqualTo(10);
    Spine spine = new Spine("spine", skewed, List.of("k1", "k2"), "as_of");

    TaskTotals.Measured<List<List<Object>>> run =
        TaskTotals.of(
            spark,
            () ->
                values(
                    PointInTimeJoin.builder(spine)
                        .add(d.source())
                        .optBroadcastSpineRows(2_000)
                        .build()
                        .join()));
    assertThat(run.value()).containsExactlyInAnyOrderElementsOf(expected);
    // only the 9 small rows, once per job that reads the spine (repartition): no union shuffle
    assertThat(run.totals().shuffleRows).as("rows shuffled").isLessThan(100L);
  }

  /**
   * 50 entities with a feature row every minute for 1,000 minutes, each asked 10 times, on a
   * feature row's time: many rows between two spine rows of an entity.
   */
  record Minutes(Spine spine, FeatureSource source, List<List<Object>> expected) {}

  /** The join of {@code d} with {@code optBroadcastFeatureBytes(featureBytes)}, measured. */
  private static TaskTotals.Measured<List<List<Object>>> joined(Minutes d, long featureBytes) {
    return TaskTotals.of(
        spark,
        () ->
            values(
                PointInTimeJoin.builder(d.spine())
                    .add(d.source())
                    .optBroadcastFeatureBytes(featureBytes)
                    .build()
                    .join()));
  }

  private static Minutes minutes() {
    List<Row> features = new ArrayList<>();
    for (int m = 0; m < 1000; m++) {
      for (int e = 0; e < 50; e++) {
        features.add(RowFactory.create("e" + e, e, at(m), (double) m));
      }
    }
    List<Row> spineRows = new ArrayList<>();
    List<List<Object>> expected = new ArrayList<>();
    for (int e = 0; e < 50; e++) {
      for (int k = 1; k <= 10; k++) {
        int minute = 100 * k - 1 - e % 3; // on a feature row's time
        spineRows.add(RowFactory.create("e" + e, e, at(minute), k));
        expected.add(Arrays.asList("e" + e, e, at(minute), k, (double) minute));
      }
    }
    return new Minutes(
        smallSpine(spineRows.toArray(Row[]::new)),
        smallSource("minutes", features, Duration.ofHours(12)),
        expected);
  }

  /**
   * Two entities whose sort hashes collide share a sort group: their rows arrive interleaved by
   * time, and each still gets only its own feature rows.
   */
  @Test
  void entitiesWhoseSortHashesCollideGetTheirOwnFeatures() {
    // keys spread over all 64 bits: on keys below 2^32 Murmur3 cannot collide
    List<Row> colliding =
        spark
            .range(0, 300_000)
            .select(
                org.apache
                    .spark
                    .sql
                    .functions
                    .xxhash64(org.apache.spark.sql.functions.col("id"))
                    .as("id"))
            .select(
                org.apache.spark.sql.functions.col("id"),
                PointInTimeJoin.sortGroup(
                        List.of(
                            org.apache.spark.sql.functions.col("id"),
                            org.apache.spark.sql.functions.lit(0L)),
                        org.apache.spark.sql.functions.lit(0L))
                    .as("g"))
            .groupBy("g")
            .agg(org.apache.spark.sql.functions.collect_list("id").as("ids"))
            .where("size(ids) >= 2")
            .limit(1)
            .collectAsList();
    assertThat(colliding).as("a colliding pair among 300,000 keys").hasSize(1);
    List<Long> ids = colliding.get(0).getList(1);
    long a = ids.get(0);
    long b = ids.get(1);
    long c = a + b + 1; // its own hash, most likely
    StructType spineType = StructType.fromDDL("id BIGINT, as_of TIMESTAMP");
    StructType featureType = StructType.fromDDL("id BIGINT, feature_ts TIMESTAMP, v DOUBLE");
    List<Row> features =
        List.of(
            RowFactory.create(a, at(0), 0.0),
            RowFactory.create(b, at(5), 5.0),
            RowFactory.create(a, at(10), 10.0),
            RowFactory.create(c, at(11), 11.0),
            RowFactory.create(b, at(15), 15.0),
            RowFactory.create(a, at(20), 20.0),
            RowFactory.create(b, at(25), 25.0),
            RowFactory.create(a, at(30), 30.0));
    List<Row> spineRows =
        List.of(
            RowFactory.create(a, at(12)),
            RowFactory.create(b, at(12)),
            RowFactory.create(c, at(12)),
            RowFactory.create(a, at(26)),
            RowFactory.create(b, at(26)),
            RowFactory.create(b, at(40)));
    Spine spine =
        new Spine("spine", spark.createDataFrame(spineRows, spineType), List.of("id"), "as_of");
    FeatureSource source =
        FeatureSource.of(
            "v",
            spark.createDataFrame(features, featureType),
            List.of("id"),
            "feature_ts",
            Duration.ofMinutes(8));

    spark.conf().set("spark.sql.shuffle.partitions", "1"); // both entities in one task
    try {
      assertThat(values(PointInTimeJoin.builder(spine).add(source).build().join()))
          .containsExactlyInAnyOrder(
              Arrays.asList(a, at(12), 10.0),
              Arrays.asList(b, at(12), 5.0),
              Arrays.asList(c, at(12), 11.0),
              Arrays.asList(a, at(26), 20.0),
              Arrays.asList(b, at(26), 25.0),
              Arrays.asList(b, at(40), null));
    } finally {
      spark.conf().set("spark.sql.shuffle.partitions", "2");
    }
  }

  /**
   * A task stops testing rows against the filter of the spine's time slots once its first rows show
   * that nearly all of them are kept, and keeps testing when the filter drops rows; each task
   * starts afresh.
   */
  @Test
  void theSlotFilterStopsTestingATaskWhoseRowsItNearlyAllKeeps() throws Exception {
    int probe = NeededSlots.Keep.PROBE_ROWS;
    long ttl = 3_600_000_000L;
    long t = 100 * ttl;
    List<long[]> everyOther = new ArrayList<>();
    long[] pairs = new long[2 * probe];
    for (int k = 0; k < probe; k++) {
      pairs[2 * k] = 2L * k;
      pairs[2 * k + 1] = t;
    }
    everyOther.add(pairs);
    NeededSlots slots = NeededSlots.of(everyOther, probe, new long[] {ttl});
    long absent = -1; // an entity the filter surely lacks (no false positive)
    while (slots.mayNeed(0, absent, t)) {
      absent--;
    }
    var broadcast =
        new org.apache.spark.api.java.JavaSparkContext(spark.sparkContext()).broadcast(slots);
    NeededSlots.Keep keep = new NeededSlots.Keep(broadcast, 0, 0, 1);

    List<InternalRow> allNeeded = new ArrayList<>();
    for (long h = 0; h < probe; h++) {
      allNeeded.add(hashAndOrder(2 * h, t));
    }
    allNeeded.add(hashAndOrder(absent, t));
    assertThat(count(keep.call(allNeeded.iterator())))
        .as("after %d rows all kept, rows pass untested", probe)
        .isEqualTo(probe + 1);

    List<InternalRow> half = new ArrayList<>();
    for (long h = 0; h < probe; h++) {
      half.add(hashAndOrder(h, t));
    }
    half.add(hashAndOrder(absent, t));
    long keptRows = count(keep.call(half.iterator()));
    assertThat(keptRows)
        .as("half the rows needed, the absent one tested and dropped")
        .isBetween(probe / 2L, probe / 2L + probe / 50);

    assertThat(count(keep.call(List.of(hashAndOrder(absent, t)).iterator())))
        .as("a new task tests from its first row")
        .isZero();
  }

  /** A row of (entity hash, the join's order column: microseconds times two). */
  private static InternalRow hashAndOrder(long hash, long micros) {
    return new org.apache.spark.sql.catalyst.expressions.GenericInternalRow(
        new Object[] {hash, 2 * micros});
  }

  private static long count(java.util.Iterator<InternalRow> rows) {
    long n = 0;
    while (rows.hasNext()) {
      rows.next();
      n++;
    }
    return n;
  }

  /** The generated data holds every case the rule names, and the oracle hit them. */
  private static void assertEdgeCasesWereExercised(Data d, List<List<Object>> expected) {
    Map<Long, List<Object>> byId = new HashMap<>();
    for (List<Object> r : expected) {
      byId.put((Long) r.get(0), r);
    }
    Set<List<Object>> riskRowTimes = new java.util.HashSet<>();
    for (Row r : d.riskEarly()) {
      riskRowTimes.add(Arrays.asList(r.get(0), r.get(1), r.get(2)));
    }
    for (Row r : d.riskLate()) {
      riskRowTimes.add(Arrays.asList(r.get(0), r.get(1), r.get(2)));
    }
    int onRow = 0;
    int onTtlEdge = 0;
    int nullKeys = 0;
    int spineTies = 0;
    Set<List<Object>> seen = new java.util.HashSet<>();
    for (Row s : d.spine()) {
      Timestamp t = (Timestamp) s.get(3);
      if (!seen.add(Arrays.asList(s.get(1), s.get(2), t))) {
        spineTies++;
      }
      if (s.get(1) == null || s.get(2) == null) {
        nullKeys++;
        assertThat(byId.get((Long) s.get(0)).subList(5, 9)).containsOnlyNulls();
        continue;
      }
      if (t == null) {
        continue;
      }
      if (riskRowTimes.contains(Arrays.asList(s.get(1), s.get(2), t))) {
        onRow++;
      }
      Timestamp edge = Timestamp.from(t.toInstant().minus(RISK_TTL));
      if (riskRowTimes.contains(Arrays.asList(s.get(1), s.get(2), edge))) {
        onTtlEdge++;
      }
    }
    assertThat(onRow).as("spine rows exactly on a feature row").isGreaterThan(100);
    assertThat(onTtlEdge).as("spine rows exactly on the ttl edge").isGreaterThan(100);
    assertThat(nullKeys).as("spine rows with a null key part").isGreaterThan(50);
    assertThat(spineTies).as("spine rows tied with another").isGreaterThan(100);
    long withRisk = expected.stream().filter(r -> r.get(6) != null).count();
    long noFeatures =
        expected.stream().filter(r -> r.subList(5, 9).stream().allMatch(Objects::isNull)).count();
    assertThat(withRisk).isGreaterThan(500);
    assertThat(noFeatures).isGreaterThan(200);
    // Both entities of the collision pair got their own values.
    assertThat(
            d.spine().stream()
                .filter(s -> "1".equals(s.get(1)) && Integer.valueOf(12).equals(s.get(2))))
        .isNotEmpty();
    assertThat(
            d.spine().stream()
                .filter(s -> "11".equals(s.get(1)) && Integer.valueOf(2).equals(s.get(2))))
        .isNotEmpty();
  }

  private static final StructType SMALL_SPINE =
      StructType.fromDDL("k1 STRING, k2 INT, as_of TIMESTAMP, label INT");
  private static final StructType SMALL_FEATURES =
      StructType.fromDDL("k1 STRING, k2 INT, feature_ts TIMESTAMP, amount DOUBLE");

  private static Spine smallSpine(Row... rows) {
    return new Spine(
        "spine", spark.createDataFrame(List.of(rows), SMALL_SPINE), List.of("k1", "k2"), "as_of");
  }

  private static FeatureSource smallSource(String name, Row... rows) {
    return smallSource(name, List.of(rows), Duration.ofHours(48));
  }

  private static FeatureSource smallSource(String name, List<Row> rows, Duration ttl) {
    return FeatureSource.of(
        name, spark.createDataFrame(rows, SMALL_FEATURES), List.of("k1", "k2"), "feature_ts", ttl);
  }

  @Test
  void aNegativeBroadcastLimitIsRefusedNamingTheOption() {
    assertThatThrownBy(() -> PointInTimeJoin.builder(smallSpine()).optBroadcastSpineRows(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "optBroadcastSpineRows(-1): use 0 or more (0 always uses the Bloom filter of the"
                + " spine's time slots).");
    assertThatThrownBy(() -> PointInTimeJoin.builder(smallSpine()).optBroadcastFeatureBytes(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("optBroadcastFeatureBytes(-1): use 0 or more (0 always shuffles).");
  }

  @Test
  void compositeKeysDoNotCollideAndTheLatestRowWinsEvenWhenItsValueIsNull() {
    Spine spine =
        smallSpine(RowFactory.create("1", 12, at(100), 1), RowFactory.create("11", 2, at(100), 0));
    FeatureSource source =
        smallSource(
            "risk",
            RowFactory.create("1", 12, at(10), 1.5),
            RowFactory.create("1", 12, at(50), null),
            RowFactory.create("11", 2, at(40), 2.5),
            RowFactory.create("11", 2, at(101), 9.9)); // the future: never used
    List<List<Object>> rows = values(PointInTimeJoin.builder(spine).add(source).build().join());
    assertThat(rows)
        .containsExactlyInAnyOrder(
            Arrays.asList("1", 12, at(100), 1, null), Arrays.asList("11", 2, at(100), 0, 2.5));
  }

  @Test
  void twoRowsOfOneEntityAtOneTimeAreAnErrorNamingTheSourceEntityAndTime() {
    Spine spine = smallSpine(RowFactory.create("1", 12, at(100), 1));
    FeatureSource source =
        smallSource(
            "risk.scores",
            RowFactory.create("1", 12, at(10), 1.5),
            RowFactory.create("1", 12, at(10), 2.5));
    assertThatThrownBy(() -> PointInTimeJoin.builder(spine).add(source).build().join().count())
        .hasStackTraceContaining(
            "feature source risk.scores has two rows for entity (k1=1, k2=12) at"
                + " 2026-01-05T00:10:00Z: a point-in-time join cannot tell which is the latest."
                + " Deduplicate the source");
  }

  @Test
  void sameFeatureNameFromTwoSourcesIsAnErrorUnlessRenamed() {
    Spine spine = smallSpine();
    FeatureSource a = smallSource("risk.scores");
    FeatureSource b = smallSource("shop.activity");
    assertThatThrownBy(() -> PointInTimeJoin.builder(spine).add(a).add(b).build())
        .isInstanceOf(FeatureException.class)
        .hasMessage(
            "feature source shop.activity: output column `amount` is also a column of feature"
                + " source risk.scores: rename one of them (in a spec: `select: {amount:"
                + " activity_amount}`).");
    PointInTimeJoin renamed =
        PointInTimeJoin.builder(spine)
            .add(a)
            .add(b.withSelect(List.of(new Selected("amount", "activity_amount"))))
            .build();
    assertThat(renamed.schema().fieldNames())
        .containsExactly("k1", "k2", "as_of", "label", "amount", "activity_amount");
  }

  @Test
  void keyTypesMustMatchAndKeyCountsAgree() {
    Spine spine = smallSpine();
    FeatureSource wrongType =
        FeatureSource.of(
            "risk.scores",
            spark.createDataFrame(
                List.of(), StructType.fromDDL("k1 STRING, k2 BIGINT, feature_ts TIMESTAMP, f INT")),
            List.of("k1", "k2"),
            "feature_ts",
            Duration.ofHours(1));
    assertThatThrownBy(() -> PointInTimeJoin.builder(spine).add(wrongType).build())
        .isInstanceOf(FeatureException.class)
        .hasMessage(
            "feature source risk.scores: key column `k2` is BIGINT but the spine's key `k2` is INT:"
                + " cast one of them so that both have the same type.");
    FeatureSource oneKey =
        FeatureSource.of(
            "risk.scores",
            spark.createDataFrame(List.of(), SMALL_FEATURES),
            List.of("k1"),
            "feature_ts",
            Duration.ofHours(1));
    assertThatThrownBy(() -> PointInTimeJoin.builder(spine).add(oneKey).build())
        .hasMessage(
            "feature source risk.scores: 1 key column(s) [k1] for the spine's 2 [k1, k2]: name one"
                + " key per spine key, in the same order.");
  }
}
