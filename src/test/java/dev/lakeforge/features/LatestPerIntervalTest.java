package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.SparkTestBase;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The spine's broadcast times ({@link SpineTimes}) against a brute-force search, and the map-side
 * thinning of feature rows ({@link LatestPerInterval}) on rows fed to it directly. The join's
 * results through both are in {@link PointInTimeJoinTest}.
 */
class LatestPerIntervalTest extends SparkTestBase {
  private static final long TTL = 50;

  @Test
  void spineTimesFindTheFirstSpineTimeAtOrAfterAFeatureRowWithinTheTtl() {
    Random rnd = new Random(3);
    List<long[]> pairs = new ArrayList<>(); // (hash, time), in no order, with repeats
    List<long[]> packed = new ArrayList<>();
    for (int part = 0; part < 3; part++) {
      long[] p = new long[2 * 400];
      for (int i = 0; i < p.length; i += 2) {
        p[i] = rnd.nextInt(40) * 0x1_0000_0001L - 20; // negative hashes too
        p[i + 1] = rnd.nextInt(2_000);
        pairs.add(new long[] {p[i], p[i + 1]});
      }
      packed.add(p);
    }
    SpineTimes times = SpineTimes.of(packed, 0).orElseThrow();
    assertThat(times.size()).isEqualTo(1_200);
    // 1,200 pairs of 40 entities: 30 each on average; one more is too few (the Bloom path's rule)
    assertThat(times.entities()).isEqualTo(40);
    assertThat(SpineTimes.of(packed, 30)).isPresent();
    assertThat(SpineTimes.of(packed, 31)).isEmpty();

    for (int probe = 0; probe < 5_000; probe++) {
      long hash = rnd.nextInt(45) * 0x1_0000_0001L - 20; // some entities absent
      long t = rnd.nextInt(2_100) - 50;
      long first = Long.MAX_VALUE;
      for (long[] pair : pairs) {
        if (pair[0] == hash && pair[1] >= t) {
          first = Math.min(first, pair[1]);
        }
      }
      long interval = interval(times, hash, t);
      if (first - t <= TTL && first != Long.MAX_VALUE) {
        assertThat(interval).as("hash %d at %d", hash, t).isNotNegative();
        // the same position for every time up to that first spine time: one interval
        assertThat(interval(times, hash, first)).isEqualTo(interval);
      } else {
        assertThat(interval).as("hash %d at %d", hash, t).isEqualTo(-1);
      }
      // searched from any position not past the answer (a few steps, or a search further on)
      int e = times.entity(hash);
      if (e >= 0) {
        int q = times.start(e);
        while (q < times.end(e) && times.time(q) < t) {
          q++;
        }
        for (int from = times.start(e); from <= q; from++) {
          assertThat(times.interval(e, t, TTL, from)).as("from %d", from).isEqualTo(interval);
        }
      }
    }
  }

  /**
   * Positions looked up in a group (the spine pass's way) are each row's brute-force answer: the
   * first position at or after its time; -1 for a row without keys, an entity not there, or a time
   * after all of its entity's.
   */
  @Test
  void aGroupsPositionsAreEachRowsOwnSearch() {
    Random rnd = new Random(5);
    long[] p = new long[2 * 2_000];
    for (int i = 0; i < p.length; i += 2) {
      p[i] = rnd.nextInt(50) * 0x1_0000_0001L - 20;
      p[i + 1] = rnd.nextInt(2_000);
    }
    SpineTimes times = SpineTimes.of(List.of(p), 0).orElseThrow();
    SpineTimes.Lookups group = new SpineTimes.Lookups(64);
    int checked = 0;
    for (int round = 0; round < 200; round++) {
      int n = 1 + rnd.nextInt(64);
      for (int k = 0; k < n; k++) {
        group.hashes[k] = rnd.nextInt(55) * 0x1_0000_0001L - 20; // some entities absent
        group.micros[k] = rnd.nextInt(2_100) - 50;
        group.absent[k] = rnd.nextInt(20) == 0;
      }
      times.positions(group, n);
      for (int k = 0; k < n; k++) {
        int e = group.absent[k] ? -1 : times.entity(group.hashes[k]);
        int expected = -1; // the entity's first spine time at or after the row's, searched in full
        for (int q = e < 0 ? 0 : times.end(e) - 1; e >= 0 && q >= times.start(e); q--) {
          expected = times.time(q) >= group.micros[k] ? q : expected;
        }
        assertThat(group.positions[k]).as("round %d row %d", round, k).isEqualTo(expected);
        checked += expected >= 0 ? 1 : 0;
      }
    }
    assertThat(checked).as("rows that found a position").isGreaterThan(1_000);
  }

  /** A partition packs its pairs up to the cap; past it, only its count and time range. */
  @Test
  void packingKeepsThePairsUpToTheCapAndAlwaysCountsAndRanges() {
    List<InternalRow> rows = new ArrayList<>();
    long[] times = {50, -7, 300, 12, 9};
    for (int i = 0; i < times.length; i++) {
      rows.add(new GenericInternalRow(new Object[] {(long) i * 11, times[i]}));
    }
    SpineTimes.Packed all = new SpineTimes.Pack(5).call(rows.iterator()).next();
    assertThat(all.rows).isEqualTo(5);
    assertThat(all.min).isEqualTo(-7);
    assertThat(all.max).isEqualTo(300);
    assertThat(all.pairs).containsExactly(0, 50, 11, -7, 22, 300, 33, 12, 44, 9);

    SpineTimes.Packed over = new SpineTimes.Pack(4).call(rows.iterator()).next();
    assertThat(over.rows).isEqualTo(5);
    assertThat(over.min).isEqualTo(-7);
    assertThat(over.max).isEqualTo(300);
    assertThat(over.pairs).as("more rows than the cap: no pairs").isNull();
  }

  /** The interval of a feature row of entity {@code hash} at {@code t}, as thinning finds it. */
  private static long interval(SpineTimes times, long hash, long t) {
    int e = times.entity(hash);
    return e < 0 ? -1 : times.interval(e, t, TTL);
  }

  /**
   * The key column's type in the rows below: a string (rows held as objects), a long (held inline
   * in the cache, and rows in it) or a double (rows in the cache, keys compared in them).
   */
  private DataType keyType = DataTypes.StringType;

  /** Feature rows: (hash, order = time × 2, key, bucket, value). */
  private InternalRow row(long hash, long micros, String key, long value) {
    return row(hash, micros, key, 0, value);
  }

  private InternalRow row(long hash, long micros, String key, long bucket, long value) {
    Object k;
    if (keyType.equals(DataTypes.StringType)) {
      k = UTF8String.fromString(key);
    } else if (keyType.equals(DataTypes.DoubleType)) {
      k = (double) key.hashCode();
    } else {
      k = (long) key.hashCode();
    }
    return new GenericInternalRow(new Object[] {hash, micros * 2, k, bucket, value});
  }

  private LatestPerInterval thinning(long... spineTimes) throws Exception {
    long[] packed = new long[2 * spineTimes.length];
    for (int i = 0; i < spineTimes.length; i++) {
      packed[2 * i] = 7; // every row below is of hash 7
      packed[2 * i + 1] = spineTimes[i];
    }
    return thinningOf(packed);
  }

  /**
   * The broadcast behind the thinning under test, held as the driver holds it while a job runs:
   * Spark's cleaner removes a broadcast's blocks once the driver's object is collected.
   */
  private Broadcast<SpineTimes> broadcast;

  /** The types of the rows below: (hash, order, key, bucket, value). */
  private DataType[] rowTypes() {
    return new DataType[] {
      DataTypes.LongType, DataTypes.LongType, keyType, DataTypes.LongType, DataTypes.LongType
    };
  }

  /** Whether the rows below have time buckets (then parities take two slots per entity). */
  private boolean bucketed;

  /** Thinning against the spine's packed (hash, time) pairs, as a task gets it. */
  private LatestPerInterval thinningOf(long[] packed) throws Exception {
    broadcast =
        JavaSparkContext.fromSparkContext(spark.sparkContext())
            .broadcast(SpineTimes.of(List.of(packed), 0).orElseThrow());
    LatestPerInterval thin =
        new LatestPerInterval(broadcast, TTL, 0, 1, 3, bucketed, new int[] {2, 3}, rowTypes());
    // as a task gets it: serialized and read back
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(thin);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (LatestPerInterval) in.readObject();
    }
  }

  private static List<Long> values(Iterator<InternalRow> out) {
    List<Long> values = new ArrayList<>();
    out.forEachRemaining(r -> values.add(r.getLong(4)));
    return values;
  }

  @ParameterizedTest
  @ValueSource(strings = {"string", "bigint", "double"})
  void onlyTheLatestRowBetweenTwoSpineTimesOfAnEntityIsSentOn(String type) throws Exception {
    keyType = DataType.fromDDL(type);
    LatestPerInterval thin = thinning(100, 200);
    List<InternalRow> rows = new ArrayList<>();
    for (long t = 0; t <= 250; t += 10) {
      rows.add(row(7, t, "a", t)); // one row every 10 time units
    }
    // late: of the interval before the one a's slot now holds, so it is sent on as it is (the
    // merge finds a's row at 100 later than it)
    rows.add(row(7, 90, "a", -90));
    rows.add(row(8, 100, "c", -1)); // an entity the spine does not have
    // another entity with the same hash, so the same slot: its first row that a spine row can see
    // sends a's held row (at 200) on and takes the slot
    for (long t = 1; t <= 251; t += 10) {
      rows.add(row(7, t, "b", 1000 + t));
    }
    // a third entity with the same hash: its first row sends b's held row (at 191) on
    rows.add(row(7, 55, "d", 2055));
    rows.add(row(7, 95, "d", 2095));
    assertThat(values(thin.call(rows.iterator())))
        // a: 50..100 → 100 (on the spine time), 150..200 → 200, the late -90; b: 51..91 → 91,
        // 151..191 → 191; d: 95; the rest are more than the ttl before the next spine time or
        // after the last one
        .containsExactlyInAnyOrder(100L, -90L, 200L, 1091L, 1191L, 2095L);
  }

  /**
   * Many entities' rows interleaved in time order, as a table written by time gives them, in
   * Spark's own row format and in two buckets: each (entity, bucket) leaves one row per interval.
   */
  @ParameterizedTest
  @ValueSource(strings = {"string", "bigint", "double"})
  void interleavedEntitiesLeaveTheirLatestRowPerIntervalAndBucket(String type) throws Exception {
    keyType = DataType.fromDDL(type);
    bucketed = true;
    int entities = 3_000; // more than the smallest cache (1,024 slots): sized to the spine
    long[] spine = {100, 200, 300};
    long[] packed = new long[2 * entities * spine.length];
    for (int e = 0, i = 0; e < entities; e++) {
      for (long t : spine) {
        packed[i++] = 1_000L * e - 77; // the entity's hash
        packed[i++] = t;
      }
    }
    LatestPerInterval thin = thinningOf(packed);
    UnsafeProjection unsafe = UnsafeProjection.create(rowTypes());
    List<InternalRow> rows = new ArrayList<>();
    for (long t = 0; t <= 300; t += 5) {
      for (int e = 0; e < entities; e++) {
        for (long bucket = 0; bucket < 2; bucket++) {
          rows.add(unsafe.apply(row(1_000L * e - 77, t, "k" + e, bucket, e * 1_000L + t)).copy());
        }
      }
    }
    List<Long> out = values(thin.call(rows.iterator()));
    List<Long> expected = new ArrayList<>();
    for (int e = 0; e < entities; e++) {
      for (long t : spine) {
        expected.add(e * 1_000L + t); // the row on each spine time, in both buckets
        expected.add(e * 1_000L + t);
      }
    }
    assertThat(out).containsExactlyInAnyOrderElementsOf(expected);
  }

  /**
   * Every row thinning sends on carries the interval it found (which the gathering then uses
   * instead of a second lookup): the held rows it displaces, late rows, ties and the rows left at
   * the end, on rows in random order (late data everywhere).
   */
  @ParameterizedTest
  @ValueSource(strings = {"string", "bigint"})
  void eachRowSentOnCarriesItsInterval(String type) throws Exception {
    keyType = DataType.fromDDL(type);
    Random rnd = new Random(11);
    int entities = 300;
    long[] packed = new long[2 * 3_000];
    for (int i = 0; i < packed.length; i += 2) {
      packed[i] = rnd.nextInt(entities) * 7_919L;
      packed[i + 1] = rnd.nextInt(2_000);
    }
    LatestPerInterval thin = thinningOf(packed);
    SpineTimes times = broadcast.value();
    List<InternalRow> rows = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      int e = rnd.nextInt(entities);
      rows.add(row(e * 7_919L, rnd.nextInt(2_100) - 50, "k" + e, i));
    }
    LatestPerInterval.Thinned out = thin.call(rows.iterator());
    int sent = 0;
    while (out.hasNext()) {
      InternalRow r = out.next();
      assertThat(out.interval())
          .as("row %d", r.getLong(4))
          .isEqualTo(interval(times, r.getLong(0), r.getLong(1) / 2))
          .isNotNegative();
      sent++;
    }
    assertThat(sent).isBetween(1_000, 19_000); // some thinned, some sent on
  }

  @Test
  void rowsOfOneEntityAtOneTimeAreAllSentOnForTheMergeToReport() throws Exception {
    LatestPerInterval thin = thinning(100);
    List<InternalRow> rows =
        List.of(row(7, 60, "a", 1), row(7, 95, "a", 2), row(7, 95, "a", 3), row(7, 80, "a", 4));
    assertThat(values(thin.call(rows.iterator()))).containsExactlyInAnyOrder(2L, 3L);
  }

  @Test
  void aTaskItCannotThinSendsItsRowsOnUntested() throws Exception {
    long[] spine = new long[LatestPerInterval.PROBE_ROWS + 10];
    for (int i = 0; i < spine.length; i++) {
      spine[i] = 10L * i + 5; // one spine time after every feature row
    }
    LatestPerInterval thin = thinning(spine);
    List<InternalRow> rows = new ArrayList<>();
    for (long i = 0; i < LatestPerInterval.PROBE_ROWS; i++) {
      rows.add(row(7, 10 * i, "a", i));
    }
    rows.add(row(8, 0, "c", -1)); // would be dropped if tested
    List<Long> out = values(thin.call(rows.iterator()));
    assertThat(out).hasSize(LatestPerInterval.PROBE_ROWS + 1).contains(-1L);

    // a new task tests from its first row
    assertThat(values(thin.call(List.of(row(8, 0, "c", -1)).iterator()))).isEmpty();
  }
}
