package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.junit.jupiter.api.Test;

/**
 * The filter of the spine's time slots never drops a feature row a spine row can see (the join's
 * correctness rests on it), drops most of those it cannot, and gives the same answers whether it is
 * built on the driver or OR-ed from the spine's partitions.
 */
class NeededSlotsTest {
  private static final long HOUR = 3_600_000_000L;
  private static final long[] TTLS = {48 * HOUR, HOUR}; // two sources
  private static final int ROWS = 50_000;

  /** Spine pairs [h0, t0, …] over 20,000 entities and 90 days, in two partitions. */
  private static List<long[]> spine(Random random) {
    List<long[]> parts = new ArrayList<>();
    for (int p = 0; p < 2; p++) {
      long[] pairs = new long[ROWS];
      for (int i = 0; i < ROWS; i += 2) {
        pairs[i] = entity(random.nextInt(20_000));
        pairs[i + 1] = Math.floorMod(random.nextLong(), 90 * 24 * HOUR) - 45 * 24 * HOUR;
      }
      parts.add(pairs);
    }
    return parts;
  }

  private static long entity(int id) {
    return id * 0x9E3779B97F4A7C15L + 12345; // distinct, spread hashes
  }

  @Test
  void everyFeatureRowASpineRowCanSeeIsKept() {
    Random random = new Random(7);
    List<long[]> spine = spine(random);
    NeededSlots slots = NeededSlots.of(spine, ROWS, TTLS);
    for (long[] pairs : spine) {
      for (int q = 0; q < pairs.length; q += 2) {
        for (int source = 0; source < TTLS.length; source++) {
          long t = pairs[q + 1];
          long ttl = TTLS[source];
          // both edges, and a random time between them (negative times included)
          for (long at : new long[] {t, t - ttl, t - 1 - Math.floorMod(random.nextLong(), ttl)}) {
            assertThat(slots.mayNeed(source, pairs[q], at))
                .as("source %d, entity %d, spine %d, feature %d", source, pairs[q], t, at)
                .isTrue();
          }
        }
      }
    }
  }

  @Test
  void rowsNoSpineRowCanSeeAreMostlyDropped() {
    Random random = new Random(11);
    NeededSlots slots = NeededSlots.of(spine(random), ROWS, TTLS);
    int passed = 0;
    int tries = 200_000;
    for (int i = 0; i < tries; i++) {
      // entities the spine never names: every pass is a false positive
      passed += slots.mayNeed(i & 1, entity(20_000 + i), random.nextLong()) ? 1 : 0;
    }
    assertThat(passed / (double) tries).as("false positives").isLessThan(0.02);
    assertThat(slots.bytes()).isLessThanOrEqualTo(2L * ROWS * TTLS.length * 10 / 8 + 64);
  }

  @Test
  void partitionsFilledAndOredAnswerLikeTheDriversFilter() throws Exception {
    Random random = new Random(13);
    List<long[]> spine = spine(random);
    NeededSlots whole = NeededSlots.of(spine, ROWS, TTLS);
    NeededSlots.Fill fill = new NeededSlots.Fill(ROWS, TTLS);
    NeededSlots ored = null;
    for (long[] pairs : spine) {
      List<InternalRow> rows = new ArrayList<>();
      for (int q = 0; q < pairs.length; q += 2) {
        rows.add(new GenericInternalRow(new Object[] {pairs[q], pairs[q + 1]}));
      }
      Iterator<NeededSlots> one = fill.call(rows.iterator());
      NeededSlots part = one.next();
      assertThat(one.hasNext()).isFalse();
      if (ored == null) {
        ored = part;
      } else {
        ored.or(part);
      }
    }
    for (int i = 0; i < 100_000; i++) {
      int source = i & 1;
      long hash = entity(random.nextInt(40_000));
      long at = Math.floorMod(random.nextLong(), 100 * 24 * HOUR) - 50 * 24 * HOUR;
      assertThat(ored.mayNeed(source, hash, at)).isEqualTo(whole.mayNeed(source, hash, at));
    }
  }

  @Test
  void keysSeparateSourcesAndSlots() {
    NeededSlots slots = NeededSlots.of(List.of(new long[] {entity(1), 0}), 1, new long[] {HOUR});
    assertThat(slots.mayNeed(0, entity(1), 0)).isTrue();
    assertThat(slots.mayNeed(0, entity(1), -HOUR)).isTrue(); // the slot before
    assertThat(NeededSlots.key(0, entity(1), 5)).isNotEqualTo(NeededSlots.key(1, entity(1), 5));
    assertThat(NeededSlots.key(0, entity(1), 5)).isNotEqualTo(NeededSlots.key(0, entity(1), 6));
    assertThat(NeededSlots.sized(1_000_000_000L, new long[] {HOUR}).bytes())
        .as("a spine of a billion rows gets the largest filter, not 2.5 GB")
        .isEqualTo(NeededSlots.MAX_BYTES);
    assertThatThrownBy(() -> slots.or(NeededSlots.sized(1_000_000, new long[] {HOUR})))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("different sizes");
  }
}
