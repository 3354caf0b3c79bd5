package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Timestamped feature rows of one entity type, joined as of each spine row's time.
 *
 * @param name names the source in messages and errors (a table or feature-set name)
 * @param data the feature rows
 * @param keys the source's entity key columns, matched in order to the spine's keys
 * @param timestamp the feature time column (Spark TIMESTAMP): a row is valid from this time on
 * @param ttl how long a row stays valid: a spine row at time t sees rows in [t - ttl, t]
 * @param select the feature columns to bring and their output names; empty = every column but the
 *     keys and the timestamp, under its own name
 */
public record FeatureSource(
    String name,
    Dataset<Row> data,
    List<String> keys,
    String timestamp,
    Duration ttl,
    List<Selected> select) {

  /** One selected feature column, {@code column} in the source, {@code as} in the output. */
  public record Selected(String column, String as) {
    public Selected {
      requireNonNull(column, "column is null");
      requireNonNull(as, "as is null");
    }

    /** The column under its own name. */
    public static Selected of(String column) {
      return new Selected(column, column);
    }
  }

  public FeatureSource {
    requireNonNull(name, "name is null");
    requireNonNull(data, "data is null");
    requireNonNull(keys, "keys is null");
    requireNonNull(timestamp, "timestamp is null");
    requireNonNull(ttl, "ttl is null");
    keys = List.copyOf(keys);
    select = select == null ? List.of() : List.copyOf(select);
    if (ttl.isNegative() || ttl.isZero()) {
      throw new FeatureException(
          String.format("feature source %s: ttl %s must be longer than zero.", name, ttl));
    }
  }

  /** A source bringing {@code columns} under their own names (none = all but keys and time). */
  public static FeatureSource of(
      String name,
      Dataset<Row> data,
      List<String> keys,
      String timestamp,
      Duration ttl,
      String... columns) {
    List<Selected> select = new ArrayList<>();
    for (String c : columns) {
      select.add(Selected.of(c));
    }
    return new FeatureSource(name, data, keys, timestamp, ttl, select);
  }

  /** The same source bringing {@code select} instead. */
  public FeatureSource withSelect(List<Selected> select) {
    return new FeatureSource(name, data, keys, timestamp, ttl, select);
  }

  @Override
  public String toString() {
    return String.format(
        "feature source %s (keys %s, timestamp %s, ttl %s)",
        name, keys, timestamp, Durations.format(ttl));
  }
}
