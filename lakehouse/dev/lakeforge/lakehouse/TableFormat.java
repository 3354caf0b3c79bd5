package dev.lakeforge.lakehouse;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.util.Locale;

/** The open table formats Lakeforge manages. */
public enum TableFormat {
  DELTA,
  ICEBERG;

  @JsonCreator
  public static TableFormat parse(String text) {
    for (TableFormat f : values()) {
      if (f.label().equalsIgnoreCase(text == null ? "" : text.trim())) {
        return f;
      }
    }
    throw new SpecException(
        String.format("format '%s' is not supported: use delta or iceberg.", text));
  }

  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** How Spark SQL names {@code table} of this format, given the Iceberg catalog's name. */
  public String sqlName(TableName table, String icebergCatalog) {
    return this == DELTA
        ? table.namespace() + "." + table.table()
        : icebergCatalog + "." + table.namespace() + "." + table.table();
  }

  @Override
  public String toString() {
    return label();
  }
}
