package dev.lakeforge.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of a Lakeforge table: {@code namespace.table}, both parts lower-case identifiers. The
 * same name is used for Delta and Iceberg tables; the format decides how Spark SQL spells it (see
 * {@code TableFormat#sqlName}). {@link #toString()} parses back with {@link #parse(String)}.
 */
public record TableName(String namespace, String table) {
  private static final Pattern PART = Pattern.compile("[a-z_][a-z0-9_]*");

  public TableName {
    Objects.requireNonNull(namespace, "namespace is null");
    Objects.requireNonNull(table, "table is null");
    checkPart(namespace, namespace + "." + table);
    checkPart(table, namespace + "." + table);
  }

  /** Parses {@code namespace.table}; an {@code iceberg.} catalog prefix is accepted and dropped. */
  @JsonCreator
  public static TableName parse(String text) {
    if (text == null || text.isBlank()) {
      throw new SpecException(
          "Table name is empty: write it as namespace.table, e.g. shop.orders.");
    }
    String[] parts = text.trim().split("\\.", -1);
    if (parts.length == 3 && parts[0].equalsIgnoreCase("iceberg")) {
      parts = new String[] {parts[1], parts[2]};
    }
    if (parts.length != 2) {
      throw new SpecException(
          String.format(
              "Invalid table name '%s': write it as namespace.table (two parts separated by one dot), e.g. shop.orders.",
              text));
    }
    return new TableName(parts[0].toLowerCase(Locale.ROOT), parts[1].toLowerCase(Locale.ROOT));
  }

  private static void checkPart(String part, String whole) {
    if (!PART.matcher(part).matches()) {
      throw new SpecException(
          String.format(
              "Invalid table name '%s': '%s' must start with a letter or '_' and contain only a-z, 0-9 and '_'.",
              whole, part));
    }
  }

  @JsonValue
  @Override
  public String toString() {
    return namespace + "." + table;
  }
}
