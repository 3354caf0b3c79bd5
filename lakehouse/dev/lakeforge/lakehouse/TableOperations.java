package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.util.List;
import java.util.Optional;

/**
 * What differs between Delta and Iceberg. Everything else (schema evolution, validation, ingest,
 * delete) is written once against Spark SQL, which both formats speak.
 */
interface TableOperations {
  TableFormat format();

  /**
   * A session for one write whose SQL settings the job may change: a clone of the caller's, so it
   * keeps every runtime setting the caller made (a notebook's {@code spark.conf.set}), while the
   * job's own settings stay private to it.
   */
  static org.apache.spark.sql.SparkSession isolated(org.apache.spark.sql.SparkSession spark) {
    return dev.lakeforge.core.SparkInternals.cloneSession(spark);
  }

  /**
   * The table's current version: the Delta version, or the Iceberg snapshot id ({@code -1} before
   * any write).
   */
  long currentVersion(TableName table);

  /** Whether a write with this batch id was already committed to the table. */
  boolean containsBatch(TableName table, String batchId);

  /**
   * Runs {@code write} (one Spark SQL statement) so that it commits {@code batchId} with it,
   * atomically where the format allows. {@code session} is a session of the job's own whose SQL
   * conf may be changed.
   */
  void writeBatch(
      org.apache.spark.sql.SparkSession session,
      TableName table,
      Optional<String> batchId,
      String write);

  /** The table's history, newest first. */
  List<HistoryEntry> history(TableName table);

  /** Live data files and their total bytes in the current version. */
  FileStats fileStats(TableName table);

  /**
   * Extra statements that must run before widening a column's type (e.g. enabling a Delta table
   * feature).
   */
  List<String> beforeTypeChange(TableName table);

  /** Compacts small files. Returns a one-line description of what it did or would do. */
  String compact(TableName table, boolean dryRun);

  /**
   * Removes history outside {@code retention}, measured back from {@code now} (the job's clock, so
   * the horizon does not depend on the session time zone or on when the call happens to run).
   * Returns one line per step, saying what it removed or would remove.
   */
  List<String> expire(TableName table, Retention retention, boolean dryRun, java.time.Instant now);

  /** Live data files and their bytes. */
  record FileStats(long files, long bytes) {}
}
