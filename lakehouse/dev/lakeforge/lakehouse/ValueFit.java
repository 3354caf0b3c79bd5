package dev.lakeforge.lakehouse;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_extract;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.TimestampNTZType;

/**
 * Whether a raw value goes into a column's type unchanged. A value that does not cast, or that
 * casts to a different value, is a bad row — never silently stored as something else:
 *
 * <ul>
 *   <li>a number with a fraction into an integer column ({@code 1.9} into {@code bigint}), a number
 *       out of the column's range, or one the column would round (a decimal with more fractional
 *       digits than its scale, a {@code bigint} beyond what a {@code double} holds exactly);
 *   <li>a time-stamp string with a zone ({@code Z}, {@code +02:00}, {@code Europe/Paris}) into a
 *       {@code timestamp_ntz} column, which has no zone to keep it in;
 *   <li>a string with a time of day into a {@code date} column.
 * </ul>
 *
 * A {@code double} into a {@code float} column is rounded to the nearest float, as the column's
 * type promises; only values beyond the float range are refused.
 */
final class ValueFit {
  private static final String WHOLE = "^\\s*[+-]?[0-9]+(\\.0*)?\\s*$";
  private static final String ZONE =
      "[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]*)?)?\\s*(?i)(z|utc|gmt|[+-][0-9]{1,2}(:?[0-9]{2})?|[a-z]+/[a-z_]+.*)\\s*$";
  private static final String TIME_OF_DAY = "[0-9][T ]\\s*[0-9]{1,2}:[0-9]{2}";

  private ValueFit() {}

  /**
   * Reasons why values of {@code src} (of type {@code from}) do not fit {@code to}: each a column
   * that is null where the value fits and says why where it does not.
   */
  static List<Column> problems(String name, Column src, DataType from, DataType to) {
    Column cast = src.try_cast(to);
    List<Column> out = new ArrayList<>();
    out.add(when(src.isNotNull().and(cast.isNull()), say(name, src, "is not a valid " + sql(to))));
    if (from.equals(to)) {
      return out;
    }
    Column fits = cast.isNotNull();
    if (from instanceof StringType) {
      if (integral(to)) {
        out.add(
            when(
                fits.and(src.rlike(WHOLE).unary_$bang()), say(name, src, "is not a whole number")));
      } else if (to instanceof DecimalType d) {
        Column fraction = regexp_replace(regexp_extract(src, "\\.([0-9]+)", 1), "0+$", "");
        Column rounded =
            src.rlike("[eE]")
                .and(src.try_cast(DataTypes.DoubleType).notEqual(cast.cast(DataTypes.DoubleType)))
                .or(src.rlike("[eE]").unary_$bang().and(length(fraction).gt(d.scale())));
        out.add(
            when(
                fits.and(rounded),
                say(name, src, "has more than " + d.scale() + " decimal places for " + sql(to))));
      } else if (to instanceof TimestampNTZType) {
        out.add(
            when(
                fits.and(src.rlike(ZONE)),
                say(
                    name,
                    src,
                    "carries a time zone, which a timestamp_ntz column cannot keep (remove the zone,"
                        + " or declare the column timestamp)")));
      } else if (to instanceof DateType) {
        out.add(
            when(
                fits.and(src.rlike(TIME_OF_DAY)),
                say(name, src, "has a time of day, which a date column would drop")));
      }
    } else if (from instanceof NumericType && to instanceof NumericType) {
      if (to instanceof FloatType) {
        out.add(
            when(
                fits.and(abs(src.cast(DataTypes.DoubleType)).gt(Float.MAX_VALUE)),
                say(name, src, "is out of the range of float")));
      } else {
        out.add(
            when(
                fits.and(cast.cast(from).eqNullSafe(src).unary_$bang()),
                concat(
                    lit("column `" + name + "`: value "),
                    src.cast("string"),
                    lit(" would be stored as "),
                    cast.cast("string"),
                    lit(" in " + sql(to)))));
      }
    }
    return out;
  }

  private static Column say(String name, Column src, String what) {
    return concat(lit("column `" + name + "`: value '"), src.cast("string"), lit("' " + what));
  }

  private static boolean integral(DataType t) {
    return t instanceof ByteType
        || t instanceof ShortType
        || t instanceof IntegerType
        || t instanceof LongType;
  }

  private static String sql(DataType t) {
    return t.sql();
  }
}
