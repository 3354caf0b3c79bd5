package dev.lakeforge.catalog;

import dev.lakeforge.core.TableName;
import java.util.Objects;

/**
 * A table known to the catalog.
 *
 * @param name its name
 * @param format {@code delta} or {@code iceberg}
 * @param location where its files live
 * @param spec the applied spec, as JSON
 */
public record RegisteredTable(TableName name, String format, String location, String spec) {
  public RegisteredTable {
    Objects.requireNonNull(name, "name is null");
    Objects.requireNonNull(format, "format is null");
    Objects.requireNonNull(location, "location is null");
    Objects.requireNonNull(spec, "spec is null");
  }
}
