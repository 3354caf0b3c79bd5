package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.testing.SparkTestBase;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

/**
 * The no-shuffle join's parts on rows fed to them directly: the driver's gathering of each
 * position's latest feature row ({@link FeatureAnswers}) and the pass over the spine ({@link
 * SpineLookup}). Their results inside the join are in {@link PointInTimeJoinTest}.
 *
 * <p>The spine: entity hash 1 at times 10, 20, 30, 40 (positions 0 to 3), entity hash 2 at 15
 * (position 4); ttl 8. Feature rows: (key, order = time × 2, value, hash).
 */
class FeatureAnswersTest extends SparkTestBase {
  private static final long TTL = 8;
  private static final StructType ROW =
      StructType.fromDDL("k STRING, ord BIGINT, f DOUBLE, h BIGINT");
  private static final EntityKeys KEYS =
      new EntityKeys(new int[] {0}, new DataType[] {DataTypes.StringType}, new String[] {"k"});

  private final SpineTimes times =
      SpineTimes.of(List.of(new long[] {1, 30, 2, 15, 1, 10}, new long[] {1, 40, 1, 20}), 0)
          .orElseThrow();

  @Test
  void eachPositionGetsItsLatestRowElseThePreviousPositionsWithinTheEntity() {
    Broadcast<SpineTimes> spine = broadcast(times);
    FeatureAnswers.Merger merger = merger(1 << 20);
    // two scan tasks, rows in no time order; t=1 is too old for any spine row (10 - 1 > ttl)
    merger.add(batch(spine, row("a", 26, 26.0), row("a", 5, 5.0), row("a", 1, 1.0)));
    merger.add(batch(spine, row("a", 12, 12.0), row("a", 9, 9.0), row("a", 25, 25.0)));

    FeatureAnswers answers = merger.build().orElseThrow();
    assertThat(answer(answers, 0, 10)).isEqualTo(9.0); // t=5 and t=9 lie before 10: the latest
    assertThat(answer(answers, 1, 20)).isEqualTo(12.0); // exactly on the ttl edge (20 - 8)
    assertThat(answer(answers, 2, 30)).isEqualTo(26.0);
    // no row in (30, 40]: position 2's row carries forward, but at 26 it is out of 40's ttl
    assertThat(answer(answers, 3, 40)).isNull();
    assertThat(answer(answers, 3, 30)).as("the carried row, for an earlier bound").isEqualTo(26.0);
    // entity 2 has no rows: position 4 takes nothing from entity 1's position 3
    assertThat(answer(answers, 4, 15)).isNull();
  }

  @Test
  void twoEntitiesWithOneHashMakeTheMergerGiveUp() {
    Broadcast<SpineTimes> spine = broadcast(times);
    FeatureAnswers.Merger atOnePosition = merger(1 << 20);
    atOnePosition.add(batch(spine, row("a", 9, 9.0)));
    atOnePosition.add(batch(spine, row("z", 5, 5.0))); // hash 1 too, other keys: same position
    assertThat(atOnePosition.build()).isEmpty();
    assertThat(atOnePosition.givenUp())
        .contains("two of its entities have the same 64-bit key hash");

    FeatureAnswers.Merger atTwoPositions = merger(1 << 20);
    atTwoPositions.add(batch(spine, row("a", 9, 9.0), row("z", 19, 19.0)));
    assertThat(atTwoPositions.build()).isEmpty();
    assertThat(atTwoPositions.givenUp())
        .contains("two of its entities have the same 64-bit key hash");
  }

  @Test
  void aTieOnAPositionsLatestRowIsAnErrorButATieALaterRowHidesIsNot() {
    Broadcast<SpineTimes> spine = broadcast(times);
    FeatureAnswers.Merger tie = merger(1 << 20);
    tie.add(batch(spine, row("a", 9, 9.0)));
    tie.add(batch(spine, row("a", 9, 9.5)));
    assertThatThrownBy(tie::build)
        .isInstanceOf(FeatureException.class)
        .hasMessageStartingWith(
            "feature source risk has two rows for entity (k=a) at 1970-01-01T00:00:00.000009Z:");

    FeatureAnswers.Merger hidden = merger(1 << 20);
    hidden.add(batch(spine, row("a", 7, 7.0), row("a", 7, 7.5)));
    hidden.add(batch(spine, row("a", 9, 9.0)));
    assertThat(answer(hidden.build().orElseThrow(), 0, 10)).isEqualTo(9.0);
  }

  @Test
  void moreBytesThanTheLimitMakeTheMergerGiveUp() {
    Broadcast<SpineTimes> spine = broadcast(times);
    long oneRow = batch(spine, row("a", 9, 9.0)).size();

    FeatureAnswers.Merger received = merger(2 * oneRow);
    received.add(batch(spine, row("a", 9, 9.0)));
    received.add(batch(spine, row("a", 12, 12.0)));
    assertThat(received.build()).isPresent();
    received = merger(2 * oneRow);
    for (int t : new int[] {9, 12, 25}) {
      received.add(batch(spine, row("a", t, t)));
    }
    assertThat(received.build()).isEmpty();
    assertThat(received.givenUp())
        .contains(
            String.format("its rows that spine rows can see are more than %,d bytes", 2 * oneRow));

    // a task past the limit sends an overflow, not its rows
    FeatureAnswers.Batch overflow =
        new FeatureAnswers.Collect(spine, TTL, 3, 1, oneRow)
            .call(List.of(row("a", 9, 9.0), row("a", 12, 12.0)).iterator())
            .next();
    assertThat(overflow.overflow).isTrue();
    assertThat(overflow.rows()).isZero();
  }

  /**
   * The spine pass: a spine row takes its position's answer only when the answer row has its keys,
   * so an entity whose keys hash like another's never gets the other's features.
   */
  /**
   * A task's rows leave in batches of at most {@link FeatureAnswers.Collect#BATCH_ROWS} rows; the
   * merger finds each position's latest row across them.
   */
  @Test
  void aTaskWithManyRowsSendsThemInSeveralBatchesThatMergeToTheSameAnswers() {
    Broadcast<SpineTimes> spine = broadcast(times);
    List<InternalRow> rows = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      long t = i % 2 == 0 ? 2 + i % 7 : 12 + i % 6; // 2..8 (position 0), 12..17 (position 1)
      rows.add(row("a", t, t));
    }
    rows.add(row("a", 9, 9.0));
    rows.add(row("a", 18, 18.0));
    List<FeatureAnswers.Batch> batches = new ArrayList<>();
    new FeatureAnswers.Collect(spine, TTL, 3, 1, 1 << 30)
        .call(rows.iterator())
        .forEachRemaining(batches::add);

    assertThat(batches).hasSize(3); // 10,002 rows: 4,096 + 4,096 + 1,810
    assertThat(batches).allSatisfy(b -> assertThat(b.overflow).isFalse());
    assertThat(batches.stream().mapToInt(FeatureAnswers.Batch::rows).sum()).isEqualTo(10_002);
    FeatureAnswers.Merger merger = merger(1 << 30);
    batches.forEach(merger::add);
    FeatureAnswers answers = merger.build().orElseThrow();
    assertThat(answer(answers, 0, 10)).isEqualTo(9.0);
    assertThat(answer(answers, 1, 20)).isEqualTo(18.0);
    assertThat(answer(answers, 2, 30)).isNull(); // 18 is out of 30's ttl
  }

  @Test
  void theSpinePassTakesAnAnswerOnlyFromTheSameEntityAndWithinTheTtl() {
    Broadcast<SpineTimes> spine = broadcast(times);
    FeatureAnswers.Merger merger = merger(1 << 20);
    merger.add(batch(spine, row("a", 9, 9.0), row("a", 12, 12.0), row("a", 26, 26.0)));
    Broadcast<FeatureAnswers[]> answers =
        JavaSparkContext.fromSparkContext(spark.sparkContext())
            .broadcast(new FeatureAnswers[] {merger.build().orElseThrow()});
    StructType output = StructType.fromDDL("k STRING, id BIGINT, f DOUBLE");
    SpineLookup lookup =
        new SpineLookup(
            spine,
            answers,
            new long[] {TTL},
            output,
            2,
            KEYS,
            new EntityKeys[] {KEYS},
            new int[][] {{2}});
    StructType in = StructType.fromDDL("k STRING, id BIGINT, h BIGINT, micros BIGINT");
    UnsafeProjection project = UnsafeProjection.create(in);
    List<InternalRow> spineRows = new ArrayList<>();
    for (Object[] r :
        List.of(
            new Object[] {"a", 1L, 1L, 10L},
            new Object[] {"a", 2L, 1L, 40L}, // 26 is out of the ttl
            new Object[] {"x", 3L, 1L, 20L}, // hash 1, other keys: its own entity, no features
            new Object[] {null, 4L, 1L, 20L},
            new Object[] {"a", 5L, 1L, 30L})) {
      Object[] v = r.clone();
      v[0] = v[0] == null ? null : UTF8String.fromString((String) v[0]);
      spineRows.add(project.apply(new GenericInternalRow(v)).copy());
    }
    List<List<Object>> out = new ArrayList<>();
    Iterator<InternalRow> rows = lookup.call(spineRows.iterator());
    while (rows.hasNext()) {
      InternalRow r = rows.next();
      out.add(
          Arrays.asList(
              r.isNullAt(0) ? null : r.getUTF8String(0).toString(),
              r.getLong(1),
              r.isNullAt(2) ? null : r.getDouble(2)));
    }
    assertThat(out)
        .containsExactly(
            Arrays.asList("a", 1L, 9.0),
            Arrays.asList("a", 2L, null),
            Arrays.asList("x", 3L, null),
            Arrays.asList(null, 4L, null),
            Arrays.asList("a", 5L, 26.0));
  }

  private FeatureAnswers.Merger merger(long limit) {
    return new FeatureAnswers.Merger(times, ROW.size(), KEYS, "risk", limit);
  }

  private static FeatureAnswers.Batch batch(Broadcast<SpineTimes> spine, InternalRow... rows) {
    return new FeatureAnswers.Collect(spine, TTL, 3, 1, 1 << 20)
        .call(Arrays.asList(rows).iterator())
        .next();
  }

  /** A feature row of entity hash 1 at {@code t}. */
  private static InternalRow row(String key, long t, double value) {
    return UnsafeProjection.create(ROW)
        .apply(new GenericInternalRow(new Object[] {UTF8String.fromString(key), 2 * t, value, 1L}))
        .copy();
  }

  /** Position p's answer value for a spine row at {@code spineTime}, or null. */
  private static Double answer(FeatureAnswers answers, int p, long spineTime) {
    UnsafeRow r = answers.newRow();
    long at = answers.at(p, spineTime - TTL);
    if (at < 0) {
      return null;
    }
    answers.point(at, r);
    return r.getDouble(2);
  }

  private static Broadcast<SpineTimes> broadcast(SpineTimes times) {
    return JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(times);
  }
}
