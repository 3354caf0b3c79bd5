package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits one write to a table: tagged with its run (so the version it made is read from the commit
 * itself), skipped when its batch id is already in the table, and run again — a bounded number of
 * times, with jittered back-off — when a concurrent writer's commit conflicts with it. Every
 * attempt is atomic (the formats commit all of a statement or none of it), so a retry never
 * duplicates rows; with a batch id the batch check before each attempt (and Delta's transaction id
 * inside it) keeps a batch that another writer committed meanwhile from landing twice.
 */
final class Committer {
  private static final Logger LOG = LoggerFactory.getLogger(Committer.class);

  /** Attempts before a conflicting write fails. */
  static final int ATTEMPTS_DEFAULT = 6;

  /** Back-off before the first retry; doubled each time, with jitter. */
  static final Duration BACKOFF_DEFAULT = Duration.ofMillis(250);

  private Committer() {}

  /**
   * What a commit did.
   *
   * @param versionBefore the table's version when the attempt that ended it started
   * @param committed the version this write committed (read from the tagged commit); empty when it
   *     committed nothing
   * @param attempts attempts made (1 without a conflict)
   * @param skipped true when the write committed nothing because its batch id was already in the
   *     table
   */
  record Outcome(long versionBefore, OptionalLong committed, int attempts, boolean skipped) {
    /** The version after the write: the one it committed, else the one it found. */
    long versionAfter() {
      return committed.orElse(versionBefore);
    }
  }

  /**
   * Runs {@code statement} against {@code table} until it commits, its batch is found committed, or
   * {@value #ATTEMPTS_DEFAULT} attempts conflicted ({@link WriteConflictException}, naming the
   * other writer's version). Errors other than conflicts are thrown at once.
   */
  static Outcome commit(
      TableOperations ops,
      SparkSession session,
      TableName table,
      CommitTag tag,
      Runnable statement) {
    return commit(ops, session, table, tag, statement, ATTEMPTS_DEFAULT);
  }

  /**
   * {@link #commit(TableOperations, SparkSession, TableName, CommitTag, Runnable)} with at most
   * {@code attempts} attempts.
   */
  static Outcome commit(
      TableOperations ops,
      SparkSession session,
      TableName table,
      CommitTag tag,
      Runnable statement,
      int attempts) {
    Duration backoff = BACKOFF_DEFAULT;
    for (int attempt = 1; ; attempt++) {
      long before = ops.currentVersion(table);
      if (tag.batchId().isPresent() && ops.containsBatch(table, tag.batchId().get())) {
        LOG.info("Batch {} is already in {}: nothing to write", tag.batchId().get(), table);
        return new Outcome(before, OptionalLong.empty(), attempt, true);
      }
      try {
        OptionalLong committed = ops.commit(session, table, tag, statement);
        if (committed.isEmpty() && tag.batchId().isPresent()) {
          // Delta skipped a transaction another writer committed after our check
          boolean other = ops.containsBatch(table, tag.batchId().get());
          return new Outcome(before, committed, attempt, other);
        }
        return new Outcome(before, committed, attempt, false);
      } catch (Exception e) { // Spark throws checked exceptions (AnalysisException) unchecked
        if (!ops.isConflict(e)) {
          throw Committer.<RuntimeException>rethrow(e);
        }
        OptionalLong landed = ops.committedBy(table, tag.runId());
        if (landed.isPresent()) { // the conflict was reported after our own commit landed
          return new Outcome(before, landed, attempt, false);
        }
        HistoryEntry other = latest(ops, table);
        if (attempt >= attempts) {
          throw new WriteConflictException(table, attempt, other, e);
        }
        long wait =
            backoff.toMillis() + ThreadLocalRandom.current().nextLong(backoff.toMillis() + 1);
        LOG.warn(
            "Write to {} conflicted with version {} ({} at {}) committed by another writer;"
                + " retrying ({} of {}) in {} ms",
            table,
            other.version(),
            other.operation(),
            other.timestamp(),
            attempt + 1,
            attempts,
            wait);
        sleep(table, wait);
        backoff = backoff.multipliedBy(2);
      }
    }
  }

  private static HistoryEntry latest(TableOperations ops, TableName table) {
    List<HistoryEntry> h = ops.history(table);
    return h.get(0);
  }

  @SuppressWarnings("unchecked")
  private static <T extends Exception> T rethrow(Exception e) throws T {
    throw (T) e;
  }

  private static void sleep(TableName table, long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LakehouseException(
          table,
          String.format(
              "Interrupted while waiting to retry a write to %s after a conflict; nothing of the"
                  + " write was committed. Run it again.",
              table),
          e);
    }
  }
}
