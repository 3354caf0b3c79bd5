package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The rows a point-in-time join labels: entity keys, an event timestamp, and any other columns
 * (labels, ids), all of which come through unchanged.
 *
 * @param name names the spine in messages (a table name, or "spine")
 * @param data the rows
 * @param keys the entity key columns, in order; the feature sources' keys are matched to these
 * @param timestamp the event-time column (Spark TIMESTAMP): feature values are taken as of it
 */
public record Spine(String name, Dataset<Row> data, List<String> keys, String timestamp) {
  public Spine {
    requireNonNull(name, "name is null");
    requireNonNull(data, "data is null");
    requireNonNull(keys, "keys is null");
    requireNonNull(timestamp, "timestamp is null");
    keys = List.copyOf(keys);
    if (keys.isEmpty()) {
      throw new FeatureException(
          String.format("spine %s: `keys` is empty: name at least one entity key column.", name));
    }
  }

  @Override
  public String toString() {
    return String.format("spine %s (keys %s, timestamp %s)", name, keys, timestamp);
  }
}
