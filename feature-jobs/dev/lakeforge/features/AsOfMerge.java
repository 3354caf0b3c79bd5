package dev.lakeforge.features;

import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The streaming pass of {@link PointInTimeJoin} over one partition of unioned rows sorted by keys,
 * bucket, time and kind: it keeps the latest row of each source for the current entity and emits
 * each spine row with the rows still within their ttl.
 *
 * <p>What it holds, whatever the entity's size: the current entity's key values and bucket, and per
 * source the latest feature row's selected values and time ({@code latest}, {@code latestTs}),
 * replaced as newer rows arrive and cleared when the entity or bucket changes — O(sources ×
 * selected columns), never an entity's history. It pulls input rows one at a time and returns each
 * spine row's output before reading further (nothing is read ahead or buffered). The sort before it
 * is Spark's external sort, bounded by the task's execution memory and spilling to disk.
 *
 * <p>Union row layout: kind (source index, or the number of sources for a spine row), time in
 * microseconds, bucket, the spine's columns, then each source's feature columns.
 */
final class AsOfMerge implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  private final int spineWidth;
  private final int[] keyIndexes;
  private final String[] keyNames;
  private final long[] ttls;
  private final int[] widths;
  private final String[] sourceNames;

  AsOfMerge(
      int spineWidth,
      int[] keyIndexes,
      String[] keyNames,
      long[] ttls,
      int[] widths,
      String[] sourceNames) {
    this.spineWidth = spineWidth;
    this.keyIndexes = keyIndexes.clone();
    this.keyNames = keyNames.clone();
    this.ttls = ttls.clone();
    this.widths = widths.clone();
    this.sourceNames = sourceNames.clone();
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    return new Merger(rows);
  }

  private final class Merger implements Iterator<Row> {
    private final Iterator<Row> in;
    private final int n = ttls.length;
    private final int[] offsets = new int[n];
    private final int outWidth;
    private final Object[][] latest = new Object[n][];
    private final long[] latestTs = new long[n];
    private Object[] entity;
    private long bucket;
    private Row next;

    Merger(Iterator<Row> in) {
      this.in = in;
      int o = PointInTimeJoin.FIRST_SPINE_COLUMN + spineWidth;
      int total = spineWidth;
      for (int i = 0; i < n; i++) {
        offsets[i] = o;
        o += widths[i];
        total += widths[i];
      }
      this.outWidth = total;
    }

    @Override
    public boolean hasNext() {
      while (next == null && in.hasNext()) {
        next = consume(in.next());
      }
      return next != null;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row r = next;
      next = null;
      return r;
    }

    /** Takes in one union row; returns the output row for a spine row, null for a feature row. */
    private Row consume(Row row) {
      int kind = row.getInt(0);
      boolean nullKey = false;
      for (int k : keyIndexes) {
        nullKey |= row.isNullAt(k);
      }
      long rowBucket = row.isNullAt(2) ? Long.MIN_VALUE : row.getLong(2);
      if (nullKey || entity == null || rowBucket != bucket || !sameEntity(row)) {
        Arrays.fill(latest, null);
        entity = nullKey ? null : keyOf(row);
        bucket = rowBucket;
      }
      if (kind < n) {
        long ts = row.getLong(1);
        if (latest[kind] != null && latestTs[kind] == ts) {
          throw new FeatureException(
              String.format(
                  "feature source %s has two rows for entity (%s) at %s: a point-in-time join"
                      + " cannot tell which is the latest. Deduplicate the source (keep one row per"
                      + " entity and timestamp) and run again.",
                  sourceNames[kind], describe(row), instant(ts)));
        }
        Object[] values = new Object[widths[kind]];
        for (int j = 0; j < values.length; j++) {
          values[j] = row.get(offsets[kind] + j);
        }
        latest[kind] = values;
        latestTs[kind] = ts;
        return null;
      }
      Object[] out = new Object[outWidth];
      for (int c = 0; c < spineWidth; c++) {
        out[c] = row.get(PointInTimeJoin.FIRST_SPINE_COLUMN + c);
      }
      if (!nullKey && !row.isNullAt(1)) {
        long ts = row.getLong(1);
        int o = spineWidth;
        for (int i = 0; i < n; i++) {
          // Sorted by time with features first, so latestTs <= ts; only the ttl edge is left.
          if (latest[i] != null && latestTs[i] >= ts - ttls[i]) {
            System.arraycopy(latest[i], 0, out, o, widths[i]);
          }
          o += widths[i];
        }
      }
      return RowFactory.create(out);
    }

    private boolean sameEntity(Row row) {
      for (int k = 0; k < keyIndexes.length; k++) {
        if (!Arrays.deepEquals(new Object[] {entity[k]}, new Object[] {row.get(keyIndexes[k])})) {
          return false;
        }
      }
      return true;
    }

    private Object[] keyOf(Row row) {
      Object[] key = new Object[keyIndexes.length];
      for (int k = 0; k < key.length; k++) {
        key[k] = row.get(keyIndexes[k]);
      }
      return key;
    }

    private String describe(Row row) {
      StringBuilder sb = new StringBuilder();
      for (int k = 0; k < keyIndexes.length; k++) {
        if (k > 0) {
          sb.append(", ");
        }
        Object v = row.get(keyIndexes[k]);
        sb.append(keyNames[k])
            .append('=')
            .append(v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v));
      }
      return sb.toString();
    }
  }

  private static Instant instant(long micros) {
    return Instant.EPOCH
        .plusSeconds(Math.floorDiv(micros, 1_000_000L))
        .plusNanos(Math.floorMod(micros, 1_000_000L) * 1_000L);
  }
}
