package dev.lakeforge.lakehouse;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.types.StructType;

/**
 * What a table is now, read through Spark's catalog API the same way for both formats.
 *
 * @param schema columns with nullability and comments
 * @param properties table properties, including {@code location} and {@code comment}
 * @param partitionColumns identity-partition columns
 */
record TableState(
    StructType schema, Map<String, String> properties, List<String> partitionColumns) {
  TableState {
    properties = Map.copyOf(properties);
    partitionColumns = List.copyOf(partitionColumns);
  }

  Optional<String> property(String key) {
    return Optional.ofNullable(properties.get(key));
  }
}
