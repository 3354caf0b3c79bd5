package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.util.List;
import java.util.OptionalLong;

/**
 * What differs between Delta and Iceberg. Everything else (schema evolution, validation, ingest,
 * delete) is written once against Spark SQL, which both formats speak.
 */
interface TableOperations {
  TableFormat format();

  /**
   * A session for one write whose SQL settings the job may change: a clone of the caller's, so it
   * keeps every runtime setting the caller made (a notebook's {@code spark.conf.set}), while the
   * job's own settings stay private to it. The caller's commit identity is not kept: a Delta
   * transaction id or commit metadata left in a notebook's session would make Delta skip the job's
   * write as "already done", or label it as the caller's.
   */
  static org.apache.spark.sql.SparkSession isolated(org.apache.spark.sql.SparkSession spark) {
    org.apache.spark.sql.SparkSession s = dev.lakeforge.core.SparkInternals.cloneSession(spark);
    for (String k :
        List.of(
            DeltaOperations.TXN_APP_ID,
            DeltaOperations.TXN_VERSION,
            DeltaOperations.USER_METADATA)) {
      s.conf().unset(k);
    }
    return s;
  }

  /**
   * The table's current version: the Delta version, or the Iceberg snapshot id ({@code -1} before
   * any write).
   */
  long currentVersion(TableName table);

  /** Whether a commit carrying this batch id is in the table's current history. */
  boolean containsBatch(TableName table, String batchId);

  /**
   * Runs {@code statement} (one write to {@code table}, run on {@code session}, a session of the
   * job's own whose SQL conf may be changed for the statement) so that the commit it makes carries
   * {@code tag}; with a batch id the format skips a batch it has already committed where it can
   * (Delta's transaction id). Returns the version of the commit carrying the tag, read from the
   * table's history — empty when the statement committed nothing.
   */
  OptionalLong commit(
      org.apache.spark.sql.SparkSession session,
      TableName table,
      CommitTag tag,
      Runnable statement);

  /** The version committed with {@code runId}'s tag (the newest if several), if any. */
  OptionalLong committedBy(TableName table, String runId);

  /**
   * Whether {@code error} (or one of its causes) says a concurrent writer committed first and this
   * write was not applied, so running the same statement again on the new version can succeed.
   */
  boolean isConflict(Throwable error);

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
