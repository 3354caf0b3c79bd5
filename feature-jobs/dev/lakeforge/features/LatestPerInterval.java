package dev.lakeforge.features;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.unsafe.Platform;

/**
 * Thins one source's feature rows before the shuffle, on the map side, using the spine's times
 * ({@link SpineTimes}). A feature row no spine row can see (no spine row of its entity in {@code
 * [t, t + ttl]}) is dropped. Of the rows of one entity between the same two spine rows, only the
 * latest can be any spine row's answer, so a cache with one slot per entity (and bucket parity)
 * keeps the latest row of the entity's current interval and lets the older ones go: when the rows
 * arrive roughly in time order (a table written by time, as feature tables are), each entity's rows
 * between two of its spine rows leave the task as one row. A row of a later interval sends the held
 * row on and takes its place; a row of an earlier interval (late data) is sent on as it is; a row
 * of another entity in the same slot (more entities than slots, or colliding hashes) sends the held
 * row on. Sending a row on is always safe, so the cache only decides how much is shuffled, never
 * what the join answers. Rows at the same time for the same entity are all sent on, so that the
 * merge reports the duplicate.
 *
 * <p>The slots are indexed by the entity's position in the spine's times, so a task's working set
 * is one slot per entity it sees: for 10,000 entities about a megabyte, which stays in the
 * processor's caches, where every row's probe goes. (An earlier cache keyed by interval spread the
 * same rows over 2^18 slots, and its probes' memory stalls were a quarter of the scan task's time.)
 *
 * <p>A task whose first {@value #PROBE_ROWS} rows it thins by less than a fifth sends the rest on
 * untested: the output is the same, and the test is not worth its cost there.
 */
final class LatestPerInterval implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final long serialVersionUID = 1L;
  static final int PROBE_ROWS = 50_000;

  /** {@link Thinned#interval} of a row sent on untested. */
  static final long UNKNOWN = -2;

  /** The cache's share of a task's memory, in bytes (held rows and their slots' bookkeeping). */
  private static final long CACHE_BYTES = 16L << 20;

  /** A slot's bookkeeping before its inline keys: interval (-1: empty), time, interval bounds. */
  private static final int META = 4;

  private final Broadcast<SpineTimes> spine;
  private final long ttl;
  private final int hashColumn;
  private final int timeColumn;
  private final int bucketColumn;
  private final boolean bucketed;
  private final int[] entityColumns;
  private final EntityKeys entity; // keys and bucket
  private final char[] inlineKinds; // null unless every entity column can be held as a long
  private final DataType[] rowTypes;

  /** A row's size in longs when every field has a fixed width (rows held in the cache's array). */
  private final int rowWords;

  private final int maxCacheBits;

  /**
   * @param hashColumn the row's entity hash (the one {@code spine} was built with)
   * @param timeColumn the row's order column (microseconds × 2)
   * @param bucketColumn the row's time bucket (a bigint; read only when {@code bucketed})
   * @param bucketed whether rows have time buckets (one slot per entity and bucket parity)
   * @param entityColumns the columns that identify an entity (keys, and the bucket where rows have
   *     one)
   * @param rowTypes the types of the rows' columns
   */
  LatestPerInterval(
      Broadcast<SpineTimes> spine,
      long ttl,
      int hashColumn,
      int timeColumn,
      int bucketColumn,
      boolean bucketed,
      int[] entityColumns,
      DataType[] rowTypes) {
    this.spine = spine;
    this.ttl = ttl;
    this.hashColumn = hashColumn;
    this.timeColumn = timeColumn;
    this.bucketColumn = bucketColumn;
    this.bucketed = bucketed;
    this.entityColumns = entityColumns.clone();
    this.rowTypes = rowTypes.clone();
    DataType[] entityTypes = new DataType[entityColumns.length];
    char[] kinds = new char[entityColumns.length];
    boolean all = true;
    for (int k = 0; k < kinds.length; k++) {
      entityTypes[k] = rowTypes[entityColumns[k]];
      kinds[k] = inlineKind(entityTypes[k]);
      all &= kinds[k] != 0;
    }
    this.entity = new EntityKeys(entityColumns, entityTypes);
    this.inlineKinds = all ? kinds : null;
    boolean fixed = Arrays.stream(rowTypes).allMatch(UnsafeRow::isFixedLength);
    this.rowWords =
        fixed ? (UnsafeRow.calculateBitSetWidthInBytes(rowTypes.length) >> 3) + rowTypes.length : 0;
    long slotBytes = 8L * (META + (all ? kinds.length : 0) + rowWords);
    if (!fixed) {
      slotBytes += 64 + Arrays.stream(rowTypes).mapToLong(DataType::defaultSize).sum(); // a row
    }
    long entries = Math.max(1, CACHE_BYTES / slotBytes);
    this.maxCacheBits = Math.max(10, Math.min(18, 63 - Long.numberOfLeadingZeros(entries)));
  }

  @Override
  public Thinned call(Iterator<InternalRow> rows) {
    return new Thinned(rows);
  }

  /**
   * Slots for every entity of the spine (in both bucket parities when bucketed), within the memory
   * bound (more entities than that share slots, which only sends more rows on).
   */
  private static int cacheBits(int maxBits, long slots) {
    int wanted = 64 - Long.numberOfLeadingZeros(Math.max(1, slots - 1));
    return Math.max(10, Math.min(maxBits, wanted));
  }

  /** How a key is held inline in the cache, as a long: its kind in a row; 0 when it cannot be. */
  private static char inlineKind(DataType t) {
    char kind = RowValues.kind(t);
    return switch (kind) {
      case RowValues.LONG, RowValues.INT, RowValues.SHORT, RowValues.BYTE, RowValues.BOOLEAN ->
          kind;
      default -> 0;
    };
  }

  /**
   * The cache sits in front of each task's rows. Per slot it keeps, in one array, the held row's
   * interval, its time, the interval's bounds (the spine times before and at its end, so that a
   * later row of the entity between them needs no search of the spine's times), the entity's values
   * when every entity column is a fixed-width number (so that telling whether a slot holds the
   * row's entity reads no row) and the row itself when every column has a fixed width (so that a
   * row's visit touches one place in memory, not a slot, a row object and its bytes); rows of
   * variable width are held as row objects beside it. An entity's slot is its position in the
   * spine's times — doubled plus the parity of its bucket when rows are bucketed (a row near a
   * bucket's end is copied into the next bucket, and the two copies take two slots).
   */
  final class Thinned implements Iterator<InternalRow> {
    private final Iterator<InternalRow> in;
    private final SpineTimes times = spine.value();
    private final int mask =
        (1 << cacheBits(maxCacheBits, (bucketed ? 2L : 1L) * times.entities())) - 1;
    private final boolean inline = inlineKinds != null;
    private final int rowAt = META + (inline ? entityColumns.length : 0);
    private final int stride = rowAt + rowWords;
    private final long[] cache = new long[(mask + 1) * stride];
    private final HeldRows held = rowWords > 0 ? new InCache() : new AsObjects(mask + 1);
    private long seen;
    private long thinned;
    private boolean passing;
    private int flushed;
    private InternalRow next;
    private long nextInterval;
    private long interval = UNKNOWN;

    /** The interval of the row {@link #offer} returns, when it returns one. */
    private long offeredInterval;

    /**
     * Rows read ahead ({@value RowValues#READ_AHEAD}, copies), with their entities: the entity
     * lookups of a group, then the reads of their slots and of the spine time after each slot's
     * interval, run before the rows are offered one by one, so that these reads (a few cache misses
     * per row) overlap instead of following one another.
     */
    private final InternalRow[] group = new InternalRow[RowValues.READ_AHEAD];

    private final int[] entityOf = new int[RowValues.READ_AHEAD];
    private int grouped;
    private int offered;
    private long touched; // what the read-ahead read (kept, so the reads are kept)

    Thinned(Iterator<InternalRow> in) {
      this.in = in;
      for (int m = 0; m < cache.length; m += stride) {
        cache[m] = -1;
      }
    }

    @Override
    public boolean hasNext() {
      while (next == null) {
        if (offered < grouped) {
          int k = offered++;
          next = offer(group[k], entityOf[k]);
          nextInterval = offeredInterval;
        } else if (passing && in.hasNext()) {
          next = in.next(); // sent on untested: the caller reads it before asking for the next
          nextInterval = UNKNOWN;
        } else if (in.hasNext()) {
          readAhead();
        } else {
          int slots = mask + 1;
          while (flushed < slots && cache[flushed * stride] < 0) {
            flushed++;
          }
          if (flushed == slots) {
            return false;
          }
          nextInterval = cache[flushed * stride];
          cache[flushed * stride] = -1;
          next = held.release(flushed++);
        }
      }
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      InternalRow row = next;
      interval = nextInterval;
      next = null;
      return row;
    }

    /**
     * The interval ({@link SpineTimes#interval}) of the row {@link #next} returned last, as
     * thinning found it; {@link #UNKNOWN} for a row sent on untested.
     */
    long interval() {
      return interval;
    }

    /** Reads the next group of rows and looks up their entities and slots. */
    private void readAhead() {
      grouped = RowValues.copyNext(in, group);
      offered = 0;
      for (int k = 0; k < grouped; k++) {
        entityOf[k] = times.entity(group[k].getLong(hashColumn));
      }
      long touch = 0;
      int last = times.size() - 1;
      for (int k = 0; k < grouped; k++) {
        int e = entityOf[k];
        if (e >= 0) {
          int m = slotOf(group[k], e) * stride;
          long p = cache[m];
          // the slot's first and last words, and the spine time after its interval
          touch += cache[m + stride - 1] + (p >= 0 ? times.time((int) Math.min(p + 1, last)) : 0);
        }
      }
      touched += touch;
    }

    private int slotOf(InternalRow row, int e) {
      return bucketed ? (int) ((2L * e + (row.getLong(bucketColumn) & 1)) & mask) : e & mask;
    }

    /**
     * Takes a row of entity {@code e}; returns the row to send on now (it, or one it displaced), or
     * null. A row returned is valid until the next call (the caller reads it before asking for the
     * next).
     */
    private InternalRow offer(InternalRow row, int e) {
      offeredInterval = UNKNOWN;
      if (passing) {
        return row;
      }
      if (++seen == PROBE_ROWS && thinned * 5 < seen) {
        passing = true;
      }
      long micros = row.getLong(timeColumn) >> 1;
      if (e < 0) {
        thinned++;
        return null; // no spine row of its entity
      }
      int slot = slotOf(row, e);
      int m = slot * stride;
      boolean same = cache[m] >= 0 && holdsEntityOf(slot, row);
      long interval;
      if (same && micros > cache[m + 2] && micros <= cache[m + 3]) {
        // between the same two spine times as the held row: no search
        interval = cache[m + 3] - micros <= ttl ? cache[m] : -1;
      } else if (same && micros > cache[m + 3]) {
        // after the held row's interval: in the next one, where rows in time order go next (no
        // search either), or further on
        int next = (int) cache[m] + 1;
        if (next < times.end(e) && micros <= times.time(next)) {
          interval = times.time(next) - micros <= ttl ? next : -1;
        } else {
          interval = times.interval(e, micros, ttl, next);
        }
      } else {
        interval = times.interval(e, micros, ttl);
      }
      if (interval < 0) {
        thinned++;
        return null; // no spine row can see it
      }
      offeredInterval = interval;
      if (same) {
        if (interval == cache[m]) {
          if (micros < cache[m + 1]) {
            thinned++;
            return null; // an older row between the same spine rows: never the latest
          }
          if (micros > cache[m + 1]) {
            if (!held.replace(slot, row)) {
              return row; // not held: sending it on is always safe
            }
            thinned++;
            cache[m + 1] = micros;
            return null;
          }
          // the same time: both go on, so that the merge (or the gathering) reports the duplicate
        } else if (interval < cache[m]) {
          return row; // late: an earlier interval than the one held
        }
        // else a later interval: the held row is the latest of its own, and goes on
      }
      boolean occupied = cache[m] >= 0;
      long previous = cache[m];
      InternalRow out = held.swap(slot, occupied, row);
      if (out == row) {
        return row; // not held (and the held row stays)
      }
      offeredInterval = previous; // the held row's own, as it goes on (or none: null goes on)
      cache[m] = interval;
      cache[m + 1] = micros;
      int p = (int) interval;
      cache[m + 2] = p > times.start(e) ? times.time(p - 1) : Long.MIN_VALUE;
      cache[m + 3] = times.time(p);
      if (inline) {
        for (int k = 0; k < entityColumns.length; k++) {
          cache[m + META + k] = keyBits(row, k);
        }
      }
      return out;
    }

    /** Whether the row in {@code slot} is of the same entity (keys and bucket) as {@code row}. */
    private boolean holdsEntityOf(int slot, InternalRow row) {
      if (inline) {
        int m = slot * stride + META;
        for (int k = 0; k < entityColumns.length; k++) {
          if (cache[m + k] != keyBits(row, k)) {
            return false;
          }
        }
        return true;
      }
      return entity.same(held.view(slot), entity, row);
    }

    private long keyBits(InternalRow row, int k) {
      int o = entityColumns[k];
      return switch (inlineKinds[k]) {
        case RowValues.LONG -> row.getLong(o);
        case RowValues.INT -> row.getInt(o);
        case RowValues.SHORT -> row.getShort(o);
        case RowValues.BYTE -> row.getByte(o);
        default -> row.getBoolean(o) ? 1 : 0;
      };
    }

    /** Where the held rows live: in the cache's array, or as row objects beside it. */
    private interface HeldRows {
      /** Holds {@code row} in place of the slot's row; false if it cannot be held. */
      boolean replace(int slot, InternalRow row);

      /**
       * Holds {@code row} in the slot; returns the row it held ({@code occupied}) to send on, else
       * null — or {@code row} itself, changing nothing, when it cannot be held.
       */
      InternalRow swap(int slot, boolean occupied, InternalRow row);

      /** The slot's row, to send on as the slot is emptied. */
      InternalRow release(int slot);

      /** The slot's row, to read now. */
      InternalRow view(int slot);
    }

    /** Rows of fixed width, in the slot's words of the cache. */
    private final class InCache implements HeldRows {
      private final int bytes = rowWords * 8;
      private final UnsafeRow out = new UnsafeRow(rowTypes.length);
      private final byte[] outBytes = new byte[bytes];
      private final UnsafeRow view = new UnsafeRow(rowTypes.length);
      private UnsafeProjection toUnsafe; // for rows in another format (tests feed such rows)

      InCache() {
        out.pointTo(outBytes, bytes);
      }

      @Override
      public boolean replace(int slot, InternalRow row) {
        UnsafeRow r = unsafe(row);
        if (r == null) {
          return false;
        }
        Platform.copyMemory(r.getBaseObject(), r.getBaseOffset(), cache, at(slot), bytes);
        return true;
      }

      @Override
      public InternalRow swap(int slot, boolean occupied, InternalRow row) {
        UnsafeRow r = unsafe(row);
        if (r == null) {
          return row;
        }
        InternalRow sent = occupied ? release(slot) : null;
        Platform.copyMemory(r.getBaseObject(), r.getBaseOffset(), cache, at(slot), bytes);
        return sent;
      }

      @Override
      public InternalRow release(int slot) {
        Platform.copyMemory(cache, at(slot), outBytes, Platform.BYTE_ARRAY_OFFSET, bytes);
        return out;
      }

      @Override
      public InternalRow view(int slot) {
        view.pointTo(cache, at(slot), bytes);
        return view;
      }

      private long at(int slot) {
        return Platform.LONG_ARRAY_OFFSET + 8L * ((long) slot * stride + rowAt);
      }

      /** The row in Spark's row format, of the fixed size; null if it is not. */
      private UnsafeRow unsafe(InternalRow row) {
        UnsafeRow r;
        if (row instanceof UnsafeRow u) {
          r = u;
        } else {
          if (toUnsafe == null) {
            toUnsafe = UnsafeProjection.create(rowTypes);
          }
          r = toUnsafe.apply(row);
        }
        return r.getSizeInBytes() == bytes ? r : null;
      }
    }

    /**
     * Rows of variable width, as row objects. The row last sent on is reused for the next copy,
     * once the caller is done with it (at the next offer).
     */
    private static final class AsObjects implements HeldRows {
      private final InternalRow[] rowOf;
      private InternalRow sent;

      AsObjects(int slots) {
        rowOf = new InternalRow[slots];
      }

      @Override
      public boolean replace(int slot, InternalRow row) {
        rowOf[slot] = RowValues.copyOf(row, rowOf[slot]);
        return true;
      }

      @Override
      public InternalRow swap(int slot, boolean occupied, InternalRow row) {
        InternalRow spare = sent;
        sent = occupied ? rowOf[slot] : null;
        rowOf[slot] = RowValues.copyOf(row, spare);
        return sent;
      }

      @Override
      public InternalRow release(int slot) {
        InternalRow row = rowOf[slot];
        rowOf[slot] = null;
        return row;
      }

      @Override
      public InternalRow view(int slot) {
        return rowOf[slot];
      }
    }
  }
}
