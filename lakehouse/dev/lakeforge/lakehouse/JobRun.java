package dev.lakeforge.lakehouse;

import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.TableName;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * A recorded run of a job from a layer above the lakehouse (batch inference, feature jobs), handed
 * to the job's body by {@link Lakehouse#run}: the job reads and commits through it, so its writes
 * get what every lakehouse write gets — the commit tagged with the run and its batch (so a batch
 * already in the table is skipped, and the version it made is read from the commit), retries when a
 * concurrent writer conflicts, the session settings that decide what is written pinned ({@link
 * #session()}), and lineage: each table read and the last version committed to each target.
 *
 * <p>The run may only commit to the tables it declared as targets, whose MODIFY privilege {@link
 * Lakehouse#run} checked; it may only read the tables it declared as reads (SELECT checked).
 */
public final class JobRun {
  private final Lakehouse lakehouse;
  private final RunLog.Recording recording;
  private final SparkSession session;
  private final Set<TableName> reads;
  private final Set<TableName> targets;
  private final Map<TableName, Long> committed = new LinkedHashMap<>();

  JobRun(
      Lakehouse lakehouse,
      RunLog.Recording recording,
      SparkSession session,
      Set<TableName> reads,
      Set<TableName> targets) {
    this.lakehouse = lakehouse;
    this.recording = recording;
    this.session = session;
    this.reads = Set.copyOf(reads);
    this.targets = Set.copyOf(targets);
  }

  /**
   * What one commit did.
   *
   * @param versionBefore the table's version when the attempt that ended it started
   * @param committed the version this commit made; empty when it made none
   * @param skipped true when its batch id was already in the table, so nothing was written
   * @param attempts attempts made (more than 1 when concurrent writers conflicted)
   */
  public record Commit(long versionBefore, OptionalLong committed, boolean skipped, int attempts) {}

  /** The run id (in the catalog and on every commit this run makes). */
  public String id() {
    return recording.id();
  }

  /**
   * The session to build the job's reads and writes on: a clone of the caller's with the settings
   * that decide what is written pinned (UTC, ANSI casts and store assignment, static overwrite). A
   * commit's tag is set on this session, so the statement passed to {@link #commit} must run on it.
   */
  public SparkSession session() {
    return session;
  }

  /**
   * Table {@code table} (a declared read) as it was at {@code version} (a Delta version or an
   * Iceberg snapshot id; empty for the current one), recorded as an input of the run at the version
   * actually read.
   */
  public Dataset<Row> read(TableName table, OptionalLong version) {
    if (!reads.contains(table)) {
      throw new IllegalArgumentException(
          "run " + id() + " did not declare " + table + " as a table it reads");
    }
    long v = version.isPresent() ? version.getAsLong() : lakehouse.currentVersion(table);
    recording.input(Artifact.table(table.toString(), v));
    return lakehouse.read(session, table, v);
  }

  /** Records another input of the run (e.g. the model version it scored with). */
  public JobRun input(Artifact artifact) {
    recording.input(artifact);
    return this;
  }

  /**
   * Runs {@code statement} — one write to {@code table}, a declared target, on {@link #session()} —
   * as a commit tagged with this run and {@code batchId}: skipped when the batch is already in the
   * table, retried when a concurrent writer conflicts.
   */
  public Commit commit(TableName table, Optional<String> batchId, Runnable statement) {
    Objects.requireNonNull(statement, "statement is null");
    if (!targets.contains(table)) {
      throw new IllegalArgumentException(
          "run " + id() + " did not declare " + table + " as a table it writes");
    }
    Committer.Outcome o =
        Committer.commit(
            lakehouse.operations(lakehouse.spec(table).format()),
            session,
            table,
            new CommitTag(id(), batchId),
            statement);
    o.committed().ifPresent(v -> committed.put(table, v));
    return new Commit(o.versionBefore(), o.committed(), o.skipped(), o.attempts());
  }

  /** Whether {@code batchId} is in {@code table}'s current history (a declared target). */
  public boolean containsBatch(TableName table, String batchId) {
    if (!targets.contains(table)) {
      throw new IllegalArgumentException(
          "run " + id() + " did not declare " + table + " as a table it writes");
    }
    return lakehouse.operations(lakehouse.spec(table).format()).containsBatch(table, batchId);
  }

  /**
   * The batch id carried by the commit that made {@code table}'s current version (a declared
   * target); empty when that commit carries none (a schema change, a maintenance or manual write)
   * or the table has no version yet. A job that replaces a table whole asks this, not {@link
   * #containsBatch}: an older batch in the history is no longer what the table holds.
   */
  public Optional<String> currentBatch(TableName table) {
    if (!targets.contains(table)) {
      throw new IllegalArgumentException(
          "run " + id() + " did not declare " + table + " as a table it writes");
    }
    TableOperations ops = lakehouse.operations(lakehouse.spec(table).format());
    long current = ops.currentVersion(table);
    return ops.history(table).stream()
        .filter(h -> h.version() == current)
        .findFirst()
        .flatMap(HistoryEntry::batchId);
  }

  /** The last version this run committed to each table, as lineage outputs. */
  List<Artifact> outputs() {
    return committed.entrySet().stream()
        .map(e -> Artifact.table(e.getKey().toString(), e.getValue()))
        .toList();
  }
}
