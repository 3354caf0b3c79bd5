package dev.lakeforge.lakehouse;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import java.util.Objects;
import java.util.Optional;
import org.apache.spark.sql.types.DataType;

/**
 * One column of a table spec.
 *
 * @param name column name (lower-case identifier)
 * @param type Spark SQL type, e.g. {@code bigint}, {@code decimal(10,2)}, {@code timestamp}, {@code
 *     array<string>}
 * @param nullable whether nulls are allowed (default true)
 * @param comment optional description, stored as the column comment
 */
public record ColumnSpec(
    @JsonProperty("name") String name,
    @JsonProperty("type") String type,
    @JsonProperty("nullable") boolean nullable,
    @JsonProperty("comment") Optional<String> comment) {

  public ColumnSpec {
    if (name == null || !name.matches("[a-z_][a-z0-9_]*")) {
      throw new SpecException(
          String.format(
              "column name '%s' is invalid: use a lower-case identifier (a-z, 0-9, _), e.g. order_id.",
              name));
    }
    if (type == null || type.isBlank()) {
      throw new SpecException(
          String.format("column `%s` has no type: add e.g. `type: bigint`.", name));
    }
    type = type.trim().toLowerCase(java.util.Locale.ROOT);
    if (type.matches(".*\\b(var)?char\\s*\\(.*")) {
      throw new SpecException(
          String.format(
              "column `%s` has type '%s': use string (both formats store char/varchar as string).",
              name, type));
    }
    parse(name, type);
    comment = comment == null ? Optional.empty() : comment;
  }

  @JsonCreator
  static ColumnSpec create(
      @JsonProperty("name") String name,
      @JsonProperty("type") String type,
      @JsonProperty("nullable") Boolean nullable,
      @JsonProperty("comment") Optional<String> comment) {
    return new ColumnSpec(name, type, nullable == null || nullable, comment);
  }

  /** A nullable column with no comment. */
  public static ColumnSpec of(String name, String type) {
    return new ColumnSpec(name, type, true, Optional.empty());
  }

  /** The Spark type of this column. */
  @JsonIgnore
  public DataType dataType() {
    return parse(name, type);
  }

  private static DataType parse(String name, String type) {
    try {
      return Objects.requireNonNull(DataType.fromDDL(type));
    } catch (Exception e) { // Spark's ParseException is a checked exception, thrown from Scala
      throw new SpecException(
          String.format(
              "column `%s` has type '%s', which Spark SQL does not know. Use a Spark SQL type such as int, bigint,"
                  + " double, decimal(10,2), string, boolean, date, timestamp, array<string>.",
              name, type));
    }
  }
}
