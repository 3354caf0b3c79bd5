package dev.lakeforge.features;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * The spine's times per entity, small enough to broadcast: for each entity (a 64-bit hash of its
 * keys) the sorted times of its spine rows. It answers, for a feature row, the one question the
 * join asks of it: which spine row, if any, is the first at or after it, within the ttl. Two
 * entities whose hashes collide share one list of times, which only makes the answer finer (more
 * feature rows kept), never drops a row an entity needs.
 */
final class SpineTimes implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long[] entities; // distinct, in the order they first appear in the packed pairs
  private final int[] starts; // entity e's times: times[starts[e] .. starts[e + 1])
  private final long[] times;

  /**
   * The entities by hash, open addressing: (hash, index + 1) pairs, (0, 0) where free, at least a
   * third of them free. A lookup reads one pair, usually, where a binary search of sorted hashes
   * reads several cache lines; thinning asks once per feature row. Not serialized: each JVM builds
   * it where it first looks up (cheap next to reading the broadcast).
   */
  private transient volatile long[] index;

  private SpineTimes(long[] entities, int[] starts, long[] times) {
    this.entities = entities;
    this.starts = starts;
    this.times = times;
  }

  /**
   * Builds the lists from packed (hash, time) pairs ({@link Packed#pairs}: {@code [h0, t0, h1, t1,
   * …]}); empty — found as the distinct hashes are counted, before the lists are built — when there
   * are fewer than {@code minRowsPerEntity} pairs per entity on average. Entities are numbered in
   * the order they first appear, through the index that lookups then use.
   */
  static Optional<SpineTimes> of(List<long[]> packed, long minRowsPerEntity) {
    int n = 0;
    for (long[] p : packed) {
      n = Math.addExact(n, p.length / 2);
    }
    long[] index = new long[2 * 1024];
    long[] hashes = new long[1024]; // by entity
    int[] counts = new int[1024]; // by entity
    int[] entityOf = new int[n];
    int distinct = 0;
    int k = 0;
    for (long[] p : packed) {
      for (int q = 0; q < p.length; q += 2, k++) {
        long hash = p[q];
        int mask = (index.length >>> 1) - 1;
        int i = slotOf(hash, mask);
        while (index[2 * i + 1] != 0 && index[2 * i] != hash) {
          i = (i + 1) & mask;
        }
        int e;
        if (index[2 * i + 1] == 0) {
          if (distinct == hashes.length) {
            hashes = Arrays.copyOf(hashes, 2 * distinct);
            counts = Arrays.copyOf(counts, 2 * distinct);
          }
          if ((long) distinct * minRowsPerEntity >= n) {
            return Optional.empty(); // one more entity is too many already
          }
          e = distinct++;
          hashes[e] = hash;
          index[2 * i] = hash;
          index[2 * i + 1] = distinct;
          if (3L * distinct > index.length) { // more than two thirds of the slots taken
            index = indexOf(Arrays.copyOf(hashes, distinct));
          }
        } else {
          e = (int) index[2 * i + 1] - 1;
        }
        entityOf[k] = e;
        counts[e]++;
      }
    }
    if (n < minRowsPerEntity * distinct) {
      return Optional.empty();
    }
    int[] starts = new int[distinct + 1];
    for (int e = 0; e < distinct; e++) {
      starts[e + 1] = starts[e] + counts[e];
    }
    int[] fill = Arrays.copyOf(starts, distinct);
    long[] times = new long[n];
    k = 0;
    for (long[] p : packed) {
      for (int q = 1; q < p.length; q += 2, k++) {
        times[fill[entityOf[k]]++] = p[q];
      }
    }
    for (int e = 0; e < distinct; e++) {
      Arrays.sort(times, starts[e], starts[e + 1]);
    }
    SpineTimes built = new SpineTimes(Arrays.copyOf(hashes, distinct), starts, times);
    built.index = index;
    return Optional.of(built);
  }

  /** The index of the entity of {@code hash} (0 to {@link #entities()} - 1); -1 if absent. */
  int entity(long hash) {
    long[] ix = index();
    int mask = (ix.length >>> 1) - 1;
    for (int i = slotOf(hash, mask); ; i = (i + 1) & mask) {
      long e = ix[2 * i + 1];
      if (e == 0) {
        return -1;
      }
      if (ix[2 * i] == hash) {
        return (int) e - 1;
      }
    }
  }

  private long[] index() {
    long[] ix = index;
    if (ix == null) {
      // racing threads build equal arrays; the volatile write publishes a whole one
      ix = indexOf(entities);
      index = ix;
    }
    return ix;
  }

  private static long[] indexOf(long[] entities) {
    int slots = Integer.highestOneBit(Math.max(2, entities.length + entities.length / 2)) << 1;
    long[] ix = new long[2 * slots];
    int mask = slots - 1;
    for (int e = 0; e < entities.length; e++) {
      int i = slotOf(entities[e], mask);
      while (ix[2 * i + 1] != 0) {
        i = (i + 1) & mask;
      }
      ix[2 * i] = entities[e];
      ix[2 * i + 1] = e + 1L;
    }
    return ix;
  }

  /**
   * Where a hash's probe starts: its bits mixed (a key's hash need not be uniform in every bit).
   */
  private static int slotOf(long hash, int mask) {
    long h = hash * 0x9E37_79B9_7F4A_7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }

  /**
   * The position of the first spine time of the entity at index {@code e} (see {@link
   * #entity(long)}) at or after {@code micros}, if it is at most {@code micros + ttl}; -1 when
   * there is none (no spine row can see a feature row of that entity at that time). Feature rows
   * with the same position lie between the same two spine rows of their entity, so only the latest
   * of them can be any spine row's answer. Positions grow with time within an entity.
   */
  long interval(int e, long micros, long ttl) {
    return interval(e, micros, ttl, starts[e]);
  }

  /**
   * {@link #interval(int, long, long)} when it is known to be at or after position {@code from} of
   * the entity's (a row later than one whose interval is {@code from - 1}): a shorter search.
   */
  long interval(int e, long micros, long ttl, int from) {
    int end = starts[e + 1];
    // rows in time order land a few positions on: the next times share a cache line or two,
    // where a binary search over the entity's times reads several
    int p = from;
    int near = Math.min(end, from + NEAR);
    while (p < near && times[p] < micros) {
      p++;
    }
    p = p < near || p == end ? p : first(p, end, micros);
    return p < end && times[p] - micros <= ttl ? p : -1;
  }

  /**
   * How many positions {@link #interval(int, long, long, int)} steps through before it searches.
   */
  private static final int NEAR = 4;

  /** The first position in [lo, hi) whose time is at or after {@code micros}; hi if none. */
  private int first(int lo, int hi, long micros) {
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (times[mid] < micros) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /**
   * The positions of the first {@code n} spine rows of {@code rows}: for each, the position of the
   * first spine time of its entity at or after its own time (for a spine row, the first of its
   * entity's spine rows at that time), or -1 when it is {@code absent} (no keys or time), its
   * entity is not here or its time is after all of its entity's (the spine read differently from
   * the pass that packed it). The searches advance together, one step of every row per round, so
   * that the memory reads of different rows overlap: a search on its own waits for each of its
   * reads in turn.
   */
  void positions(Lookups rows, int n) {
    int[] lo = rows.positions;
    int[] hi = rows.hi;
    int[] end = rows.end;
    for (int k = 0; k < n; k++) {
      int e = rows.absent[k] ? -1 : entity(rows.hashes[k]);
      lo[k] = e < 0 ? 0 : starts[e];
      hi[k] = end[k] = e < 0 ? 0 : starts[e + 1];
    }
    boolean searching = true;
    while (searching) {
      searching = false;
      for (int k = 0; k < n; k++) {
        if (lo[k] < hi[k]) {
          int mid = (lo[k] + hi[k]) >>> 1;
          if (times[mid] < rows.micros[k]) {
            lo[k] = mid + 1;
          } else {
            hi[k] = mid;
          }
          searching |= lo[k] < hi[k];
        }
      }
    }
    for (int k = 0; k < n; k++) {
      lo[k] = lo[k] < end[k] ? lo[k] : -1;
    }
  }

  /** Spine rows to look up together ({@link #positions}): the caller fills their hash and time. */
  static final class Lookups {
    final long[] hashes;
    final long[] micros;
    final boolean[] absent;
    final int[] positions;
    private final int[] hi;
    private final int[] end;

    Lookups(int size) {
      hashes = new long[size];
      micros = new long[size];
      absent = new boolean[size];
      positions = new int[size];
      hi = new int[size];
      end = new int[size];
    }
  }

  /** The first position of the entity at index {@code e}: its spine times are [start, end). */
  int start(int e) {
    return starts[e];
  }

  /** The position after the last of the entity at index {@code e}. */
  int end(int e) {
    return starts[e + 1];
  }

  /** The spine time at position {@code p}. */
  long time(int p) {
    return times[p];
  }

  /** How many entities (distinct hashes) it holds. */
  int entities() {
    return entities.length;
  }

  /** How many spine times it holds. */
  int size() {
    return times.length;
  }

  /**
   * One partition of the spine packed: its row count and time range, and its (hash, time) pairs
   * {@code [h0, t0, h1, t1, …]} — null when it had more rows than the cap it was packed with.
   */
  static final class Packed implements Serializable {
    private static final long serialVersionUID = 1L;

    final long rows;
    final long min;
    final long max;
    final long[] pairs;

    Packed(long rows, long min, long max, long[] pairs) {
      this.rows = rows;
      this.min = min;
      this.max = max;
      this.pairs = pairs;
    }
  }

  /**
   * Packs a partition of (hash, microseconds) rows, both non-null longs, into a {@link Packed}: all
   * its pairs, unless it has more than {@code capRows} rows (then only its count and time range).
   */
  static final class Pack implements FlatMapFunction<Iterator<InternalRow>, Packed> {
    private static final long serialVersionUID = 1L;

    private final long capRows;

    Pack(long capRows) {
      this.capRows = capRows;
    }

    @Override
    public Iterator<Packed> call(Iterator<InternalRow> rows) {
      long[] pairs = new long[1024];
      long count = 0;
      long min = Long.MAX_VALUE;
      long max = Long.MIN_VALUE;
      while (rows.hasNext()) {
        InternalRow row = rows.next();
        long t = row.getLong(1);
        min = Math.min(min, t);
        max = Math.max(max, t);
        if (count < capRows) {
          int n = Math.toIntExact(2 * count);
          if (n == pairs.length) {
            pairs = Arrays.copyOf(pairs, Math.multiplyExact(pairs.length, 2));
          }
          pairs[n] = row.getLong(0);
          pairs[n + 1] = t;
        } else {
          pairs = null; // over the cap: only counted from here on
        }
        count++;
      }
      long[] kept = pairs == null ? null : Arrays.copyOf(pairs, Math.toIntExact(2 * count));
      return Collections.singletonList(new Packed(count, min, max, kept)).iterator();
    }
  }
}
