package dev.lakeforge.features;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.catalyst.types.PhysicalBooleanType;
import org.apache.spark.sql.catalyst.types.PhysicalByteType;
import org.apache.spark.sql.catalyst.types.PhysicalDataType;
import org.apache.spark.sql.catalyst.types.PhysicalDoubleType;
import org.apache.spark.sql.catalyst.types.PhysicalFloatType;
import org.apache.spark.sql.catalyst.types.PhysicalIntegerType;
import org.apache.spark.sql.catalyst.types.PhysicalLongType;
import org.apache.spark.sql.catalyst.types.PhysicalShortType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
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
  private final String[] keyNames;
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
      kinds[i] = kind(types[i]);
    }
    this.spineWidth = spineWidth;
    this.keyIndexes = keyIndexes.clone();
    this.keyNames = keyNames.clone();
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
          throw new FeatureException(
              String.format(
                  "feature source %s has two rows for entity (%s) at %s: a point-in-time join"
                      + " cannot tell which is the latest. Deduplicate the source (keep one row per"
                      + " entity and timestamp) and run again.",
                  sourceNames[kind], describe(row), instant(ts)));
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
        if (st.bucket == bucket && sameEntity(st.entity, row)) {
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
      if (from.isNullAt(i)) {
        to.setNullAt(j);
        return;
      }
      switch (kinds[column]) {
        case BOOLEAN -> to.setBoolean(j, from.getBoolean(i));
        case BYTE -> to.setByte(j, from.getByte(i));
        case SHORT -> to.setShort(j, from.getShort(i));
        case INT -> to.setInt(j, from.getInt(i));
        case LONG -> to.setLong(j, from.getLong(i));
        case FLOAT -> to.setFloat(j, from.getFloat(i));
        case DOUBLE -> to.setDouble(j, from.getDouble(i));
        default -> {
          Object v = from.get(i, types[column]);
          to.update(j, own ? InternalRow.copyValue(v) : v);
        }
      }
    }

    private boolean sameEntity(InternalRow entity, InternalRow row) {
      for (int k = 0; k < keyIndexes.length; k++) {
        int i = keyIndexes[k];
        boolean same =
            switch (kinds[i]) {
              case INT -> entity.getInt(k) == row.getInt(i);
              case LONG -> entity.getLong(k) == row.getLong(i);
              default ->
                  types[i].equals(DataTypes.BinaryType)
                      ? Arrays.equals(entity.getBinary(k), row.getBinary(i))
                      : Objects.equals(entity.get(k, types[i]), row.get(i, types[i]));
            };
        if (!same) {
          return false;
        }
      }
      return true;
    }

    private String describe(InternalRow row) {
      StringBuilder sb = new StringBuilder();
      for (int k = 0; k < keyIndexes.length; k++) {
        if (k > 0) {
          sb.append(", ");
        }
        int i = keyIndexes[k];
        Object v = CatalystTypeConverters.convertToScala(row.get(i, types[i]), types[i]);
        sb.append(keyNames[k])
            .append('=')
            .append(v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v));
      }
      return sb.toString();
    }
  }

  /** How a column's values are stored in a row, for typed copies. */
  private static final char BOOLEAN = 'z',
      BYTE = 'b',
      SHORT = 's',
      INT = 'i',
      LONG = 'l',
      FLOAT = 'f',
      DOUBLE = 'd',
      OTHER = 'o';

  private static char kind(DataType t) {
    PhysicalDataType p = PhysicalDataType.apply(t);
    if (p instanceof PhysicalBooleanType) {
      return BOOLEAN;
    } else if (p instanceof PhysicalByteType) {
      return BYTE;
    } else if (p instanceof PhysicalShortType) {
      return SHORT;
    } else if (p instanceof PhysicalIntegerType) {
      return INT;
    } else if (p instanceof PhysicalLongType) {
      return LONG;
    } else if (p instanceof PhysicalFloatType) {
      return FLOAT;
    } else if (p instanceof PhysicalDoubleType) {
      return DOUBLE;
    }
    return OTHER;
  }

  private static Instant instant(long micros) {
    return Instant.EPOCH
        .plusSeconds(Math.floorDiv(micros, 1_000_000L))
        .plusNanos(Math.floorMod(micros, 1_000_000L) * 1_000L);
  }
}
