package dev.lakeforge.features;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.catalyst.types.PhysicalBooleanType;
import org.apache.spark.sql.catalyst.types.PhysicalByteType;
import org.apache.spark.sql.catalyst.types.PhysicalDataType;
import org.apache.spark.sql.catalyst.types.PhysicalDoubleType;
import org.apache.spark.sql.catalyst.types.PhysicalFloatType;
import org.apache.spark.sql.catalyst.types.PhysicalIntegerType;
import org.apache.spark.sql.catalyst.types.PhysicalLongType;
import org.apache.spark.sql.catalyst.types.PhysicalShortType;
import org.apache.spark.sql.types.DataType;

/**
 * Typed copies of values between Spark's internal rows, so that a fixed-width value is moved
 * without boxing. A column's "kind" says how its values are stored ({@link #kind}).
 */
final class RowValues {
  private RowValues() {}

  static final char BOOLEAN = 'z',
      BYTE = 'b',
      SHORT = 's',
      INT = 'i',
      LONG = 'l',
      FLOAT = 'f',
      DOUBLE = 'd',
      OTHER = 'o';

  /** How values of {@code t} are stored in a row. */
  static char kind(DataType t) {
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

  /**
   * Copies field {@code i} of {@code from} (of type {@code type}, stored as {@code kind}) into
   * field {@code j} of {@code to}; with {@code own}, a value that points into {@code from}'s memory
   * (a string, an array, a struct) is copied too, so that it outlives the row.
   */
  static void copy(
      InternalRow from, int i, InternalRow to, int j, char kind, DataType type, boolean own) {
    if (from.isNullAt(i)) {
      to.setNullAt(j);
      return;
    }
    switch (kind) {
      case BOOLEAN -> to.setBoolean(j, from.getBoolean(i));
      case BYTE -> to.setByte(j, from.getByte(i));
      case SHORT -> to.setShort(j, from.getShort(i));
      case INT -> to.setInt(j, from.getInt(i));
      case LONG -> to.setLong(j, from.getLong(i));
      case FLOAT -> to.setFloat(j, from.getFloat(i));
      case DOUBLE -> to.setDouble(j, from.getDouble(i));
      default -> {
        Object v = from.get(i, type);
        to.update(j, own ? InternalRow.copyValue(v) : v);
      }
    }
  }

  /**
   * How many rows the join's passes read ahead ({@link #copyNext}) or touch ahead: their lookups
   * run step by step for the whole group, so that the memory reads of different rows overlap.
   */
  static final int READ_AHEAD = 64;

  /**
   * Copies the next rows of {@code in}, up to {@code into.length}, into {@code into} (reusing its
   * rows: the reader reuses its own); returns how many.
   */
  static int copyNext(java.util.Iterator<InternalRow> in, InternalRow[] into) {
    int n = 0;
    while (n < into.length && in.hasNext()) {
      into[n] = copyOf(in.next(), into[n]);
      n++;
    }
    return n;
  }

  /**
   * A copy of {@code row} that outlives it: written into {@code reuse} when both are in Spark's row
   * format (no allocation once {@code reuse} is large enough), else a new row.
   */
  static InternalRow copyOf(InternalRow row, InternalRow reuse) {
    if (row instanceof UnsafeRow r && reuse instanceof UnsafeRow target) {
      target.copyFrom(r);
      return target;
    }
    return row.copy();
  }
}
