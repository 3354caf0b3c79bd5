package dev.lakeforge.features;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataType;

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

  /** The cache's share of a task's memory, in bytes of rows (estimated from the schema). */
  private static final long CACHE_BYTES = 16L << 20;

  private final Broadcast<SpineTimes> spine;
  private final long ttl;
  private final int hashColumn;
  private final int timeColumn;
  private final int bucketColumn;
  private final int[] entityColumns;
  private final EntityKeys entity; // keys and bucket
  private final char[] inlineKinds; // null unless every entity column can be held as a long
  private final int maxCacheBits;

  /**
   * @param hashColumn the row's entity hash (the one {@code spine} was built with)
   * @param timeColumn the row's order column (microseconds × 2)
   * @param bucketColumn the row's time bucket (a bigint; 0 without buckets)
   * @param entityColumns the columns that identify an entity in the union (keys and bucket)
   * @param rowBytes an estimate of a row's size, which bounds the cache
   */
  LatestPerInterval(
      Broadcast<SpineTimes> spine,
      long ttl,
      int hashColumn,
      int timeColumn,
      int bucketColumn,
      int[] entityColumns,
      DataType[] entityTypes,
      long rowBytes) {
    this.spine = spine;
    this.ttl = ttl;
    this.hashColumn = hashColumn;
    this.timeColumn = timeColumn;
    this.bucketColumn = bucketColumn;
    this.entityColumns = entityColumns.clone();
    this.entity = new EntityKeys(entityColumns, entityTypes);
    char[] kinds = new char[entityTypes.length];
    boolean all = true;
    for (int k = 0; k < kinds.length; k++) {
      kinds[k] = inlineKind(entityTypes[k]);
      all &= kinds[k] != 0;
    }
    this.inlineKinds = all ? kinds : null;
    long entries = Math.max(1, CACHE_BYTES / Math.max(64, rowBytes));
    this.maxCacheBits = Math.max(10, Math.min(18, 63 - Long.numberOfLeadingZeros(entries)));
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
    return new Thinned(rows);
  }

  /**
   * Slots for every entity of the spine in both bucket parities, within the memory bound (more
   * entities than that share slots, which only sends more rows on).
   */
  private static int cacheBits(int maxBits, int entities) {
    int wanted = 64 - Long.numberOfLeadingZeros(Math.max(1, 2L * entities - 1));
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
   * The cache sits in front of each task's rows. Per slot it keeps the row (a copy) and, in one
   * array, its interval, its time, the interval's bounds (the spine times before and at its end, so
   * that a later row of the entity between them needs no search of the spine's times) and — when
   * every entity column is a fixed-width number — the entity's values, so that telling whether a
   * slot holds the row's entity reads no row. An entity's slot is its position in the spine's
   * times, doubled, plus the parity of its bucket (a row near a bucket's end is copied into the
   * next bucket, and the two copies take two slots).
   */
  private final class Thinned implements Iterator<InternalRow> {
    private final Iterator<InternalRow> in;
    private final SpineTimes times = spine.value();
    private final int mask = (1 << cacheBits(maxCacheBits, times.entities())) - 1;
    private final boolean inline = inlineKinds != null;
    private final int stride = 4 + (inline ? entityColumns.length : 0);
    private final long[] meta = new long[(mask + 1) * stride];
    private final InternalRow[] rowOf = new InternalRow[mask + 1];
    private long seen;
    private long thinned;
    private boolean passing;
    private int flushed;
    private InternalRow next;

    /** The row last sent on from the cache: the caller is done with it at the next offer. */
    private InternalRow sent;

    /** A row object free for the next copy into the cache. */
    private InternalRow spare;

    Thinned(Iterator<InternalRow> in) {
      this.in = in;
    }

    @Override
    public boolean hasNext() {
      while (next == null) {
        if (in.hasNext()) {
          next = offer(in.next());
        } else {
          while (flushed < rowOf.length && rowOf[flushed] == null) {
            flushed++;
          }
          if (flushed == rowOf.length) {
            return false;
          }
          next = rowOf[flushed];
          rowOf[flushed++] = null;
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
      next = null;
      return row;
    }

    /** Takes a row; returns the row to send on now (it, or one it displaced), or null. */
    private InternalRow offer(InternalRow row) {
      if (passing) {
        return row; // the caller reads it before asking for the next
      }
      if (sent != null) {
        spare = sent;
        sent = null;
      }
      if (++seen == PROBE_ROWS && thinned * 5 < seen) {
        passing = true;
      }
      long micros = row.getLong(timeColumn) >> 1;
      int e = times.entity(row.getLong(hashColumn));
      if (e < 0) {
        thinned++;
        return null; // no spine row of its entity
      }
      int slot = (int) ((2L * e + (row.getLong(bucketColumn) & 1)) & mask);
      int m = slot * stride;
      InternalRow held = rowOf[slot];
      boolean same = held != null && holdsEntityOf(slot, row);
      long interval;
      if (same && micros > meta[m + 2] && micros <= meta[m + 3]) {
        // between the same two spine times as the held row: no search
        interval = meta[m + 3] - micros <= ttl ? meta[m] : -1;
      } else {
        interval = times.interval(e, micros, ttl);
      }
      if (interval < 0) {
        thinned++;
        return null; // no spine row can see it
      }
      if (same) {
        if (interval == meta[m]) {
          if (micros < meta[m + 1]) {
            thinned++;
            return null; // an older row between the same spine rows: never the latest
          }
          if (micros > meta[m + 1]) {
            thinned++;
            rowOf[slot] = copy(row, held);
            meta[m + 1] = micros;
            return null;
          }
          // the same time: both go on, so that the merge (or the gathering) reports the duplicate
        } else if (interval < meta[m]) {
          return row; // late: an earlier interval than the one held; the caller reads it now
        }
        // else a later interval: the held row is the latest of its own, and goes on
      }
      rowOf[slot] = copy(row, spare);
      spare = null;
      meta[m] = interval;
      meta[m + 1] = micros;
      int p = (int) interval;
      meta[m + 2] = p > times.start(e) ? times.time(p - 1) : Long.MIN_VALUE;
      meta[m + 3] = times.time(p);
      if (inline) {
        for (int k = 0; k < entityColumns.length; k++) {
          meta[m + 4 + k] = keyBits(row, k);
        }
      }
      sent = held;
      return held;
    }

    /** {@code row} copied into {@code into} when it can be reused, else into a new row. */
    private InternalRow copy(InternalRow row, InternalRow into) {
      if (row instanceof UnsafeRow r && into instanceof UnsafeRow target) {
        target.copyFrom(r);
        return target;
      }
      return row.copy();
    }

    /** Whether the row in {@code slot} is of the same entity (keys and bucket) as {@code row}. */
    private boolean holdsEntityOf(int slot, InternalRow row) {
      if (inline) {
        int m = slot * stride;
        for (int k = 0; k < entityColumns.length; k++) {
          if (meta[m + 4 + k] != keyBits(row, k)) {
            return false;
          }
        }
        return true;
      }
      return entity.same(rowOf[slot], entity, row);
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
  }
}
