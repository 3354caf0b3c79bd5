package dev.lakeforge.inference;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * One output column's values for a batch of rows, held unboxed: a float, double, int or long column
 * in a primitive array, a label or a vector as the value Spark stores ({@link UTF8String}, array
 * data). Values are written by row index and copied into an output row with the typed setters, so
 * no value is boxed on the way from the model's output to the row Spark writes.
 */
final class OutputColumn {
  private final DataType type;
  private final float[] floats;
  private final double[] doubles;
  private final int[] ints;
  private final long[] longs;
  private final Object[] values;

  OutputColumn(DataType type, int capacity) {
    this.type = type;
    this.floats = type.equals(DataTypes.FloatType) ? new float[capacity] : null;
    this.doubles = type.equals(DataTypes.DoubleType) ? new double[capacity] : null;
    this.ints = type.equals(DataTypes.IntegerType) ? new int[capacity] : null;
    this.longs = type.equals(DataTypes.LongType) ? new long[capacity] : null;
    this.values =
        floats == null && doubles == null && ints == null && longs == null
            ? new Object[capacity]
            : null;
  }

  /** Sets row {@code r} of a numeric column to element {@code at} of {@code t}, converted. */
  void putElement(int r, Tensor t, int at) {
    if (floats != null) {
      floats[r] = (float) t.getDouble(at);
    } else if (doubles != null) {
      doubles[r] = t.getDouble(at);
    } else if (ints != null) {
      ints[r] = (int) t.getLong(at);
    } else if (longs != null) {
      longs[r] = t.getLong(at);
    } else {
      throw new IllegalStateException("output column of type " + type + " takes no element");
    }
  }

  /** Sets row {@code r} of an int column (an arg-max index). */
  void putInt(int r, int v) {
    ints[r] = v;
  }

  /** Sets row {@code r} of a string column (an arg-max label). */
  void putString(int r, String v) {
    values[r] = UTF8String.fromString(v);
  }

  /** Sets row {@code r} of a vector column. */
  void putVector(int r, float[] v) {
    values[r] = UnsafeArrayData.fromPrimitiveArray(v);
  }

  /** Writes row {@code r} into field {@code ordinal} of {@code row}. */
  void writeTo(int r, InternalRow row, int ordinal) {
    if (floats != null) {
      row.setFloat(ordinal, floats[r]);
    } else if (doubles != null) {
      row.setDouble(ordinal, doubles[r]);
    } else if (ints != null) {
      row.setInt(ordinal, ints[r]);
    } else if (longs != null) {
      row.setLong(ordinal, longs[r]);
    } else {
      row.update(ordinal, values[r]);
      values[r] = null;
    }
  }

  /** Copies row {@code from} of this column to row {@code to} of {@code target}. */
  void copyTo(int from, OutputColumn target, int to) {
    if (floats != null) {
      target.floats[to] = floats[from];
    } else if (doubles != null) {
      target.doubles[to] = doubles[from];
    } else if (ints != null) {
      target.ints[to] = ints[from];
    } else if (longs != null) {
      target.longs[to] = longs[from];
    } else {
      target.values[to] = values[from];
      values[from] = null;
    }
  }
}
