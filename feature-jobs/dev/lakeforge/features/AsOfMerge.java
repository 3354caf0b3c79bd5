package dev.lakeforge.features;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

/**
 * The streaming pass of {@link PointInTimeJoin} over one partition of unioned rows sorted by group
 * (a hash of the entity's keys and bucket, then a coarse time) and order (exact time, feature rows
 * first): it keeps the latest row of each source for each entity of the current group and emits
 * each spine row with the rows still within their ttl. A group is one entity, or a few whose hashes
 * collide and whose rows arrive interleaved by time. It reads and writes Spark's internal rows, so
 * no value is converted to a Java object on the way.
 *
 * <p>What it holds, whatever the entity's size: for each entity of the current group (one, unless
 * hashes collide), its key values and bucket, and per source the latest feature row's selected
 * values and time, replaced as newer rows arrive and dropped when the group changes — O(sources ×
 * selected columns) per entity, never an entity's history. It pulls input rows one at a time and
 * returns each spine row's output before reading further (nothing is read ahead or buffered). The
 * sort before it is Spark's external sort, bounded by the task's execution memory and spilling to
 * disk. Entities whose 32-bit hashes collide (rare: a few pairs among millions of entities) are
 * looked up by a linear scan of the group's entities.
 *
 * <p>Union row layout: kind (source index, or the number of sources for a spine row), order (time
 * in microseconds times two, plus one for a spine row), bucket, the spine's columns, each source's
 * feature columns, then the group column.
 */
final class AsOfMerge implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final long serialVersionUID = 1L;

  private final int spineWidth;
  private final int[] keyIndexes;
  private final EntityKeys unionKeys; // the keys in a union row
  private final EntityKeys stateKeys; // the keys in a State's entity row
  private final long[] ttls;
  private final int[] widths;
  private final String[] sourceNames;
  private final DataType[] types;
  private final char[] kinds;
  private final int groupColumn;

  /**
   * @param union the union rows' schema
   * @param spineWidth how many spine columns follow kind, time and bucket
   * @param keyIndexes the positions of the entity keys in a union row
   * @param keyNames the keys' names, for errors
   * @param ttls per source, its ttl in microseconds
   * @param widths per source, how many feature columns it has
   * @param sourceNames per source, its name, for errors
   * @param groupColumn the position of the group column, whose high 32 bits are the entity's hash
   */
  AsOfMerge(
      StructType union,
      int spineWidth,
      int[] keyIndexes,
      String[] keyNames,
      long[] ttls,
      int[] widths,
      String[] sourceNames,
      int groupColumn) {
    this.types = Arrays.stream(union.fields()).map(f -> f.dataType()).toArray(DataType[]::new);
    this.kinds = new char[types.length];
    for (int i = 0; i < types.length; i++) {
      kinds[i] = RowValues.kind(types[i]);
    }
    this.spineWidth = spineWidth;
    this.keyIndexes = keyIndexes.clone();
    DataType[] keyTypes =
        Arrays.stream(keyIndexes).mapToObj(k -> types[k]).toArray(DataType[]::new);
    this.unionKeys = new EntityKeys(keyIndexes, keyTypes, keyNames);
    this.stateKeys =
        new EntityKeys(IntStream.range(0, keyIndexes.length).toArray(), keyTypes, keyNames);
    this.ttls = ttls.clone();
    this.widths = widths.clone();
    this.sourceNames = sourceNames.clone();
    this.groupColumn = groupColumn;
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
    return new Merger(rows);
  }

  /** The current state of one entity (keys and bucket): the latest row of each source. */
  private final class State {
    final InternalRow entity;
    long bucket;
    final InternalRow[] latest;
    final boolean[] has;
    final long[] latestTs;

    State(StructType keys, StructType[] values) {
      this.entity = new SpecificInternalRow(keys);
      this.latest = new InternalRow[values.length];
      for (int i = 0; i < values.length; i++) {
        latest[i] = new SpecificInternalRow(values[i]);
      }
      this.has = new boolean[values.length];
      this.latestTs = new long[values.length];
    }
  }

  /**
   * Returns one reused output row object: the reader copies each row into its own format before it
   * asks for the next.
   */
  private final class Merger implements Iterator<InternalRow> {
    private final Iterator<InternalRow> in;
    private final int n = ttls.length;
    private final int[] offsets = new int[n];
    private final StructType keyType;
    private final StructType[] valueTypes = new StructType[n];
    private final InternalRow out;

    /** The entities of the current group (usually one; more when their hashes collide). */
    private final List<State> group = new ArrayList<>();

    /** States of earlier groups, reused. */
    private final ArrayDeque<State> spare = new ArrayDeque<>();

    /** The current group's hash; a first row with the initial 0 finds the group empty anyway. */
    private long groupHash;

    private InternalRow next;

    Merger(Iterator<InternalRow> in) {
      this.in = in;
      int o = PointInTimeJoin.FIRST_SPINE_COLUMN + spineWidth;
      StructType output = new StructType();
      for (int c = 0; c < spineWidth; c++) {
        output = output.add("s" + c, types[PointInTimeJoin.FIRST_SPINE_COLUMN + c]);
      }
      for (int i = 0; i < n; i++) {
        offsets[i] = o;
        StructType values = new StructType();
        for (int j = 0; j < widths[i]; j++) {
          values = values.add("f" + j, types[o + j]);
          output = output.add("f" + i + "_" + j, types[o + j]);
        }
        valueTypes[i] = values;
        o += widths[i];
      }
      StructType keys = new StructType();
      for (int k : keyIndexes) {
        keys = keys.add("k" + k, types[k]);
      }
      this.keyType = keys;
      this.out = new SpecificInternalRow(output);
    }

    @Override
    public boolean hasNext() {
      while (next == null && in.hasNext()) {
        next = consume(in.next());
      }
      return next != null;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      InternalRow r = next;
      next = null;
      return r;
    }

    /**
     * Takes in one union row (which the sort may reuse after this call); returns the output row for
     * a spine row, null for a feature row. What is kept of a row is copied value by value into rows
     * allocated once.
     */
    private InternalRow consume(InternalRow row) {
      long hash = row.getLong(groupColumn) >>> 32;
      if (hash != groupHash) {
        spare.addAll(group);
        group.clear();
        groupHash = hash;
      }
      boolean nullKey = false;
      for (int k : keyIndexes) {
        nullKey |= row.isNullAt(k);
      }
      int kind = row.getInt(0);
      if (kind < n) {
        if (nullKey) {
          return null; // the join filters these out; an entity of nulls matches no spine row
        }
        State st = find(row);
        if (st == null) {
          st = add(row);
        }
        long ts = row.getLong(1) >> 1;
        if (st.has[kind] && st.latestTs[kind] == ts) {
          throw FeatureException.duplicateRows(sourceNames[kind], unionKeys.describe(row), ts);
        }
        for (int j = 0; j < widths[kind]; j++) {
          copy(row, offsets[kind] + j, st.latest[kind], j, true);
        }
        st.has[kind] = true;
        st.latestTs[kind] = ts;
        return null;
      }
      for (int c = 0; c < spineWidth; c++) {
        copy(row, PointInTimeJoin.FIRST_SPINE_COLUMN + c, out, c, false);
      }
      State st = nullKey || row.isNullAt(1) ? null : find(row);
      long ts = st != null ? row.getLong(1) >> 1 : 0;
      int o = spineWidth;
      for (int i = 0; i < n; i++) {
        // Sorted by time with features first, so latestTs <= ts; only the ttl edge is left.
        boolean valid = st != null && st.has[i] && st.latestTs[i] >= ts - ttls[i];
        for (int j = 0; j < widths[i]; j++) {
          if (valid) {
            copy(st.latest[i], j, out, o + j, offsets[i] + j, false);
          } else {
            out.setNullAt(o + j);
          }
        }
        o += widths[i];
      }
      return out;
    }

    /** The state of {@code row}'s entity in the current group, or null. */
    private State find(InternalRow row) {
      long bucket = bucketOf(row);
      for (State st : group) {
        if (st.bucket == bucket && stateKeys.same(st.entity, unionKeys, row)) {
          return st;
        }
      }
      return null;
    }

    /** A new state for {@code row}'s entity in the current group, with no feature row yet. */
    private State add(InternalRow row) {
      State st = spare.isEmpty() ? new State(keyType, valueTypes) : spare.pop();
      Arrays.fill(st.has, false);
      for (int k = 0; k < keyIndexes.length; k++) {
        copy(row, keyIndexes[k], st.entity, k, true);
      }
      st.bucket = bucketOf(row);
      group.add(st);
      return st;
    }

    private static long bucketOf(InternalRow row) {
      return row.isNullAt(2) ? Long.MIN_VALUE : row.getLong(2);
    }

    /** Copies union column {@code i} of {@code from} into field {@code j} of {@code to}. */
    private void copy(InternalRow from, int i, InternalRow to, int j, boolean own) {
      copy(from, i, to, j, i, own);
    }

    /**
     * Copies field {@code i} of {@code from}, whose type is that of union column {@code column},
     * into field {@code j} of {@code to}; with {@code own}, a value that points into {@code from}'s
     * memory (a string, an array, a struct) is copied too, so it outlives the row.
     */
    private void copy(InternalRow from, int i, InternalRow to, int j, int column, boolean own) {
      RowValues.copy(from, i, to, j, kinds[column], types[column], own);
    }
  }
}
