package dev.lakeforge.lakehouse;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The session a Lakeforge write runs on: a clone of the caller's (so a notebook's runtime settings,
 * such as credentials or shuffle partitions, still apply) with the settings that decide what is
 * written pinned, whatever the caller set, so the same command writes the same data in any session.
 */
final class WriteSession {
  /**
   * Pinned for every write: instants read from files without a zone are UTC (not the caller's
   * session zone); casts and store assignment are ANSI (a value that does not fit fails instead of
   * becoming NULL or being truncated); {@code INSERT OVERWRITE} replaces the whole table, as {@code
   * --mode overwrite} says, never only the partitions the batch touches.
   */
  static final Map<String, String> PINNED =
      Map.of(
          "spark.sql.session.timeZone", "UTC",
          "spark.sql.ansi.enabled", "true",
          "spark.sql.storeAssignmentPolicy", "ANSI",
          "spark.sql.sources.partitionOverwriteMode", "STATIC");

  private WriteSession() {}

  /** A clone of {@code caller} with {@link #PINNED} set. */
  static SparkSession of(SparkSession caller) {
    SparkSession s = TableOperations.isolated(caller);
    PINNED.forEach((k, v) -> s.conf().set(k, v));
    return s;
  }
}
