package dev.lakeforge.features;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * The time slots the spine needs, per source and entity: a spine row at time t of entity h needs,
 * from source i, only the feature rows in {@code [t - ttl_i, t]}, which lie in the ttl-wide slot of
 * t or the one before it. A Bloom filter of those (source, entity hash, slot) triples lets each
 * source's scan drop the rows no spine row can see (an entity's history far from its spine rows,
 * entities not in the spine) before they are shuffled: it never misses a triple it holds, so no
 * needed row is dropped; a false positive only shuffles a row that the merge then passes over.
 *
 * <p>A split-block filter: a key sets one bit in each of the 8 words of one 64-byte block, so a
 * test reads one cache line (a classic Bloom filter reads one per hash function, each a likely miss
 * once the filter outgrows the core's cache; on shape A of {@code bench/asof} those probes were a
 * quarter of the scan's samples). It is filled on the driver from the spine's packed (hash, time)
 * pairs, or by a job over the spine whose tasks' filters are OR-ed ({@link Fill}).
 */
final class NeededSlots implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bits per key: about 1 % false positives for a split-block filter. */
  static final int BITS_PER_KEY = 10;

  /**
   * The largest filter, 64 MiB (broadcast to every executor): past ~50M keys (25M spine rows for
   * one source) it holds fewer bits per key, so more unneeded rows pass; none that is needed drops.
   */
  static final long MAX_BYTES = 64L << 20;

  private static final int WORDS = 8; // per block: one cache line
  private static final int BLOCK_BITS = 64 * WORDS;
  private static final long[] SALTS = {
    0x47b6137b44974d91L, 0x8824ad5ba2b7289dL, 0x705495c72df1424bL, 0x9efc49475c6bfb31L,
    0x3e1c0a0f4e1b7f87L, 0xd2a98b26625eee7bL, 0xdd0f6f8b3a2c5a11L, 0x5c6bfb31a2b7289dL
  };

  private final long[] words;
  private final long blocks;
  private final long[] ttls; // per source, microseconds (at least 1)

  private NeededSlots(long blocks, long[] ttls) {
    this.blocks = blocks;
    this.words = new long[Math.toIntExact(blocks * WORDS)];
    this.ttls = ttls.clone();
  }

  /**
   * An empty filter sized for {@code spineRows} spine rows and sources of these ttls
   * (microseconds): two keys per spine row and source.
   */
  static NeededSlots sized(long spineRows, long[] ttls) {
    long keys = Math.max(1, Math.multiplyExact(2 * spineRows, ttls.length));
    long wanted = Math.multiplyExact(keys, BITS_PER_KEY) / BLOCK_BITS;
    long blocks = Math.max(1, Math.min(8 * MAX_BYTES / BLOCK_BITS, wanted));
    long[] positive = new long[ttls.length];
    for (int i = 0; i < ttls.length; i++) {
      positive[i] = Math.max(1, ttls[i]);
    }
    return new NeededSlots(blocks, positive);
  }

  /**
   * The filter of a spine's packed (hash, time) pairs ({@link SpineTimes.Packed#pairs}: {@code [h0,
   * t0, h1, t1, …]}), built on the driver.
   */
  static NeededSlots of(List<long[]> packed, long spineRows, long[] ttls) {
    NeededSlots slots = sized(spineRows, ttls);
    for (long[] p : packed) {
      for (int q = 0; q < p.length; q += 2) {
        slots.putSpineRow(p[q], p[q + 1]);
      }
    }
    return slots;
  }

  /** Adds what a spine row of entity {@code hash} at {@code micros} needs from every source. */
  void putSpineRow(long hash, long micros) {
    for (int i = 0; i < ttls.length; i++) {
      long slot = Math.floorDiv(micros, ttls[i]);
      put(key(i, hash, slot));
      put(key(i, hash, slot - 1));
    }
  }

  /** Whether a spine row may need source {@code source}'s row of entity {@code hash} at micros. */
  boolean mayNeed(int source, long hash, long micros) {
    return mightContain(key(source, hash, Math.floorDiv(micros, ttls[source])));
  }

  /** Adds {@code other}'s keys (a filter of the same size and sources). */
  void or(NeededSlots other) {
    if (other.blocks != blocks || other.ttls.length != ttls.length) {
      throw new IllegalArgumentException(
          "NeededSlots.or: filters of different sizes (" + blocks + ", " + other.blocks + ")");
    }
    for (int w = 0; w < words.length; w++) {
      words[w] |= other.words[w];
    }
  }

  long bytes() {
    return 8L * words.length;
  }

  /** A well-mixed 64-bit key of (source, entity hash, slot). */
  static long key(int source, long hash, long slot) {
    return mix(hash ^ mix(slot * 0x9E3779B97F4A7C15L + source));
  }

  private void put(long key) {
    int base = block(key);
    int low = (int) key;
    for (int w = 0; w < WORDS; w++) {
      words[base + w] |= bit(low, w);
    }
  }

  private boolean mightContain(long key) {
    int base = block(key);
    int low = (int) key;
    for (int w = 0; w < WORDS; w++) {
      long b = bit(low, w);
      if ((words[base + w] & b) == 0) {
        return false;
      }
    }
    return true;
  }

  /** The first word of the key's block: its high 32 bits scaled to the block count. */
  private int block(long key) {
    return (int) (((key >>> 32) * blocks) >>> 32) * WORDS;
  }

  /** The bit word {@code w} of a block sets for a key whose low 32 bits are {@code low}. */
  private static long bit(int low, int w) {
    return 1L << ((low * SALTS[w]) >>> 58);
  }

  /** SplitMix64's finalizer. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * A spine partition's filter, from rows of (entity hash, microseconds), both non-null longs; the
   * driver ORs the partitions' filters.
   */
  static final class Fill implements FlatMapFunction<Iterator<InternalRow>, NeededSlots> {
    private static final long serialVersionUID = 1L;

    private final long spineRows;
    private final long[] ttls;

    Fill(long spineRows, long[] ttls) {
      this.spineRows = spineRows;
      this.ttls = ttls.clone();
    }

    @Override
    public Iterator<NeededSlots> call(Iterator<InternalRow> rows) {
      NeededSlots slots = sized(spineRows, ttls);
      while (rows.hasNext()) {
        InternalRow row = rows.next();
        slots.putSpineRow(row.getLong(0), row.getLong(1));
      }
      return List.of(slots).iterator();
    }
  }

  /**
   * Source {@code source}'s rows that some spine row may need, by their entity hash and the join's
   * order column (the row's microseconds times two). Where the spine needs nearly every slot (many
   * spine rows per entity), testing costs more than it saves: a task that has tested {@value
   * #PROBE_ROWS} rows and kept more than {@value #KEEP_RATIO} of them passes the rest untested.
   * Either way no needed row is dropped; only which unneeded rows go on differs.
   */
  static final class Keep implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
    private static final long serialVersionUID = 1L;
    static final int PROBE_ROWS = 20_000;
    static final double KEEP_RATIO = 0.8;

    private final Broadcast<NeededSlots> slots;
    private final int source;
    private final int hashColumn;
    private final int orderColumn;

    Keep(Broadcast<NeededSlots> slots, int source, int hashColumn, int orderColumn) {
      this.slots = slots;
      this.source = source;
      this.hashColumn = hashColumn;
      this.orderColumn = orderColumn;
    }

    @Override
    public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
      NeededSlots filter = slots.value();
      return new Iterator<>() {
        private long tested;
        private long kept;
        private boolean testing = true;
        private InternalRow next;

        @Override
        public boolean hasNext() {
          while (next == null && rows.hasNext()) {
            InternalRow row = rows.next();
            if (!testing) {
              next = row;
              break;
            }
            boolean keep =
                filter.mayNeed(source, row.getLong(hashColumn), row.getLong(orderColumn) >> 1);
            tested++;
            if (keep) {
              kept++;
              next = row;
            }
            if (tested == PROBE_ROWS && kept > KEEP_RATIO * tested) {
              testing = false;
            }
          }
          return next != null;
        }

        @Override
        public InternalRow next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          InternalRow row = next;
          next = null;
          return row;
        }
      };
    }
  }
}
