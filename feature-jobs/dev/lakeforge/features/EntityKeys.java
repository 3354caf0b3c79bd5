package dev.lakeforge.features;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StringType;

/**
 * Where an entity's key columns lie in one row layout: compares two rows' entities (each in its own
 * layout) and describes an entity for errors, without converting rows to Java objects.
 */
final class EntityKeys implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int[] columns;
  private final DataType[] types;
  private final String[] names;
  private final char[] kinds; // RowValues' kinds, and STRING

  /** The kind of a string key, compared as UTF-8 bytes. */
  private static final char STRING = 'u';

  /**
   * @param columns the key columns' positions in the layout, in key order
   * @param types their types (the same, key by key, in every layout compared)
   * @param names the keys' names, for errors
   */
  EntityKeys(int[] columns, DataType[] types, String[] names) {
    if (columns.length != types.length || columns.length != names.length) {
      throw new IllegalArgumentException("one type and one name per key column");
    }
    this.columns = columns.clone();
    this.types = types.clone();
    this.names = names.clone();
    this.kinds = new char[types.length];
    for (int k = 0; k < types.length; k++) {
      kinds[k] = types[k] instanceof StringType ? STRING : RowValues.kind(types[k]);
    }
  }

  /** Keys without names (described by their positions), for comparisons only. */
  EntityKeys(int[] columns, DataType[] types) {
    this(columns, types, Arrays.stream(columns).mapToObj(c -> "#" + c).toArray(String[]::new));
  }

  /** Whether any key of {@code row} is null. */
  boolean anyNull(InternalRow row) {
    for (int c : columns) {
      if (row.isNullAt(c)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code row} (in this layout) and {@code other} (in {@code layout}) have equal keys. */
  boolean same(InternalRow row, EntityKeys layout, InternalRow other) {
    for (int k = 0; k < columns.length; k++) {
      int a = columns[k];
      int b = layout.columns[k];
      boolean same =
          switch (kinds[k]) {
            case RowValues.LONG -> row.getLong(a) == other.getLong(b);
            case RowValues.INT -> row.getInt(a) == other.getInt(b);
            case RowValues.SHORT -> row.getShort(a) == other.getShort(b);
            case RowValues.BYTE -> row.getByte(a) == other.getByte(b);
            case RowValues.BOOLEAN -> row.getBoolean(a) == other.getBoolean(b);
            case STRING -> row.getUTF8String(a).equals(other.getUTF8String(b));
            default -> {
              // floating point (boxed equality, as before), binary, decimals, structs
              Object x = row.get(a, types[k]);
              Object y = other.get(b, types[k]);
              yield x instanceof byte[] bx && y instanceof byte[] by
                  ? Arrays.equals(bx, by)
                  : Objects.equals(x, y);
            }
          };
      if (!same) {
        return false;
      }
    }
    return true;
  }

  /** {@code k1=v1, k2=v2} for {@code row}'s keys. */
  String describe(InternalRow row) {
    StringBuilder sb = new StringBuilder();
    for (int k = 0; k < columns.length; k++) {
      if (k > 0) {
        sb.append(", ");
      }
      Object v =
          row.isNullAt(columns[k])
              ? null
              : CatalystTypeConverters.convertToScala(row.get(columns[k], types[k]), types[k]);
      sb.append(names[k])
          .append('=')
          .append(v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v));
    }
    return sb.toString();
  }
}
