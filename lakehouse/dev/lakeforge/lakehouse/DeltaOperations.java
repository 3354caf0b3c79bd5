package dev.lakeforge.lakehouse;

import static org.apache.spark.sql.functions.col;

import dev.lakeforge.core.TableName;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Delta Lake behind {@link TableOperations}. Batch ids are made idempotent by Delta itself: the
 * write carries a transaction (app id {@code lakeforge-batch:<id>}, version 1) that Delta records
 * atomically in the commit and skips when it has seen it. The {@link CommitTag} (run id and batch
 * id) goes into the commit's user metadata, so history shows it and a job finds its own commit.
 */
final class DeltaOperations implements TableOperations {
  static final String TXN_APP_ID = "spark.databricks.delta.write.txnAppId";
  static final String TXN_VERSION = "spark.databricks.delta.write.txnVersion";
  static final String USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata";
  static final String TXN_PREFIX = "lakeforge-batch:";

  private final SparkSession spark;

  DeltaOperations(SparkSession spark) {
    this.spark = spark;
  }

  @Override
  public TableFormat format() {
    return TableFormat.DELTA;
  }

  private String sql(TableName t) {
    return TableFormat.DELTA.sqlName(t, "");
  }

  @Override
  public long currentVersion(TableName table) {
    return spark.sql("DESCRIBE HISTORY " + sql(table) + " LIMIT 1").first().getLong(0);
  }

  @Override
  public boolean containsBatch(TableName table, String batchId) {
    for (Row r :
        spark
            .sql("DESCRIBE HISTORY " + sql(table))
            .where(col("userMetadata").contains(CommitTag.BATCH_KEY + "=" + batchId))
            .select("userMetadata")
            .collectAsList()) {
      if (batchId.equals(CommitTag.parseDelta(r.getString(0)).get(CommitTag.BATCH_KEY))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public OptionalLong commit(
      SparkSession session, TableName table, CommitTag tag, Runnable statement) {
    Map<String, String> settings = new java.util.LinkedHashMap<>();
    if (tag.batchId().isPresent()) {
      // Delta records the transaction atomically with the commit and skips a write whose
      // transaction it has already seen, even when two writers raced past containsBatch.
      settings.put(TXN_APP_ID, TXN_PREFIX + tag.batchId().get());
      settings.put(TXN_VERSION, "1");
    }
    settings.put(USER_METADATA, tag.deltaUserMetadata());
    // the session may be the caller's own (sql DML): its settings are put back afterwards
    Map<String, Optional<String>> before = new java.util.LinkedHashMap<>();
    settings.forEach(
        (k, v) -> {
          before.put(k, Optional.ofNullable(session.conf().get(k, null)));
          session.conf().set(k, v);
        });
    try {
      statement.run();
    } finally {
      before.forEach(
          (k, v) -> {
            if (v.isPresent()) {
              session.conf().set(k, v.get());
            } else {
              session.conf().unset(k);
            }
          });
    }
    return committedBy(table, tag.runId());
  }

  /**
   * Commits read back first when looking for a run's commit: it is almost always among the newest
   * (only concurrent writers commit after it), and DESCRIBE HISTORY reads one log file per commit.
   */
  static final int RECENT_COMMITS = 25;

  @Override
  public OptionalLong committedBy(TableName table, String runId) {
    OptionalLong recent = committedBy(table, runId, " LIMIT " + RECENT_COMMITS);
    return recent.isPresent() ? recent : committedBy(table, runId, "");
  }

  private OptionalLong committedBy(TableName table, String runId, String limit) {
    Row r =
        spark
            .sql("DESCRIBE HISTORY " + sql(table) + limit)
            .where(col("userMetadata").contains(CommitTag.deltaRunMarker(runId)))
            .agg(org.apache.spark.sql.functions.max("version"))
            .first();
    return r.isNullAt(0) ? OptionalLong.empty() : OptionalLong.of(r.getLong(0));
  }

  @Override
  public boolean isConflict(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof org.apache.spark.sql.delta.DeltaConcurrentModificationException) {
        return true;
      }
    }
    return false;
  }

  @Override
  public List<HistoryEntry> history(TableName table) {
    List<HistoryEntry> out = new ArrayList<>();
    for (Row r :
        spark
            .sql("DESCRIBE HISTORY " + sql(table))
            .select("version", "timestamp", "operation", "userMetadata", "operationMetrics")
            .collectAsList()) {
      Optional<String> batch =
          Optional.ofNullable(
              CommitTag.parseDelta(r.isNullAt(3) ? null : r.getString(3)).get(CommitTag.BATCH_KEY));
      Map<String, String> metrics = r.isNullAt(4) ? Map.of() : r.getJavaMap(4);
      out.add(
          new HistoryEntry(
              r.getLong(0),
              r.getTimestamp(1).toInstant(),
              r.getString(2),
              batch,
              summarize(metrics)));
    }
    return out;
  }

  /**
   * Row and file counts that are not zero; timings and byte counts are left to DESCRIBE HISTORY.
   */
  private static String summarize(Map<String, String> metrics) {
    Map<String, String> kept = new java.util.TreeMap<>();
    metrics.forEach(
        (k, v) -> {
          if ((k.contains("Rows") || k.contains("Files"))
              && !k.contains("Time")
              && !"0".equals(v)) {
            kept.put(k, v);
          }
        });
    return kept.toString();
  }

  @Override
  public FileStats fileStats(TableName table) {
    Row d = spark.sql("DESCRIBE DETAIL " + sql(table)).select("numFiles", "sizeInBytes").first();
    return new FileStats(d.getLong(0), d.getLong(1));
  }

  @Override
  public List<String> beforeTypeChange(TableName table) {
    return List.of(
        "ALTER TABLE " + sql(table) + " SET TBLPROPERTIES ('delta.enableTypeWidening' = 'true')");
  }

  @Override
  public String compact(TableName table, boolean dryRun) {
    if (dryRun) {
      return String.format("OPTIMIZE would bin-pack the %d live files", fileStats(table).files());
    }
    Row m =
        spark
            .sql("OPTIMIZE " + sql(table))
            .select("metrics.numFilesRemoved", "metrics.numFilesAdded")
            .first();
    return String.format("OPTIMIZE rewrote %d files into %d", m.getLong(0), m.getLong(1));
  }

  @Override
  public List<String> expire(TableName table, Retention retention, boolean dryRun, Instant now) {
    long hours = retainHours(table, retention, now);
    SparkSession session = TableOperations.isolated(spark);
    // The check guards against retention under 7 days; our horizon is computed from the spec's own
    // retention.
    session.conf().set("spark.databricks.delta.retentionDurationCheck.enabled", "false");
    // VACUUM START/END commits would count as versions against the retention's "last N versions".
    session.conf().set("spark.databricks.delta.vacuum.logging.enabled", "false");
    // Delta 4.x ignores any RETAIN but 0 hours by default and falls back to the table's
    // delta.deletedFileRetentionDuration; the horizon must be the one computed from the spec.
    session.conf().set("spark.databricks.delta.vacuum.retentionWindowIgnore.enabled", "false");
    if (dryRun) {
      long files = vacuum(session, table, hours, true, now).count();
      return List.of(
          String.format(
              java.util.Locale.ROOT,
              "VACUUM would delete %d files no longer needed by versions within %d days / the last %d versions"
                  + " (retain %d hours)",
              files,
              retention.days(),
              retention.versions(),
              hours));
    }
    vacuum(session, table, hours, false, now).collect();
    return List.of(
        String.format(
            java.util.Locale.ROOT,
            "VACUUM removed files older than %d hours not needed by retained versions",
            hours));
  }

  /**
   * {@code VACUUM table RETAIN hours HOURS [DRY RUN]}, measured back from {@code now}. SQL VACUUM
   * always reads the system clock (Delta 4.3.1 {@code VacuumTableCommand} calls {@code
   * VacuumCommand.gc} with its default {@code SystemClock}), so the command behind it is called
   * directly with the job's clock; it is the same code path otherwise.
   */
  private static org.apache.spark.sql.Dataset<Row> vacuum(
      SparkSession session, TableName table, long hours, boolean dryRun, Instant now) {
    org.apache.spark.sql.connector.catalog.Table loaded;
    try {
      loaded =
          ((org.apache.spark.sql.connector.catalog.TableCatalog)
                  dev.lakeforge.core.SparkInternals.catalog(session, "spark_catalog"))
              .loadTable(
                  org.apache.spark.sql.connector.catalog.Identifier.of(
                      new String[] {table.namespace()}, table.table()));
    } catch (org.apache.spark.sql.catalyst.analysis.NoSuchTableException e) {
      throw LakehouseException.notRegistered(table);
    }
    if (!(loaded instanceof org.apache.spark.sql.delta.catalog.DeltaTableV2 delta)) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot vacuum %s: Spark does not load it as a Delta table (%s). Re-apply its spec.",
              table, loaded.getClass().getSimpleName()));
    }
    scala.collection.immutable.Map<String, org.apache.spark.sql.execution.metric.SQLMetric>
        noMetrics = scala.collection.immutable.Map$.MODULE$.empty();
    return org.apache.spark.sql.delta.commands.VacuumCommand.gc(
        session,
        delta,
        dryRun,
        scala.Option.apply((Object) (double) hours),
        scala.Option.empty(),
        scala.Option.empty(),
        noMetrics,
        new org.apache.spark.util.ManualClock(now.toEpochMilli()));
  }

  /**
   * The VACUUM horizon in whole hours before {@code now}: every version younger than {@code days},
   * and the last {@code versions} versions, stay readable, whichever reaches further back. Delta
   * rounds RETAIN to whole hours, so we round up (keeping more, never less); only {@code versions:
   * 1, days: 0} gives 0 hours, i.e. keep the current version only.
   */
  private long retainHours(TableName table, Retention retention, Instant now) {
    Instant byAge = now.minus(retention.age());
    List<Row> versions =
        spark
            .sql("DESCRIBE HISTORY " + sql(table))
            .select("version", "timestamp")
            .orderBy(org.apache.spark.sql.functions.col("version").desc())
            .collectAsList();
    if (retention.versions() <= 1 && retention.days() == 0) {
      return 0;
    }
    int oldestKept = Math.min(retention.versions(), versions.size()) - 1;
    Instant byCount = ((Timestamp) versions.get(oldestKept).get(1)).toInstant();
    Instant horizon = byAge.isBefore(byCount) ? byAge : byCount;
    long millis = Math.max(1, Duration.between(horizon, now).toMillis());
    return (millis + 3_599_999L) / 3_600_000L;
  }
}
