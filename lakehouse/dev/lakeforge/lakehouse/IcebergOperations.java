package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.spark.CommitMetadata;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Apache Iceberg behind {@link TableOperations}. The {@link CommitTag} (run id and batch id) is
 * written into the summary of the snapshot that carries it, and a write first checks the table's
 * snapshots for its batch id. Expiring a snapshot forgets its batch id, so retention bounds how
 * long a re-run is recognised.
 */
final class IcebergOperations implements TableOperations {
  /**
   * Orphan files younger than this may belong to a write still in flight; they are never removed.
   */
  static final Duration ORPHAN_MIN_AGE = Duration.ofHours(24);

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);
  private static final List<String> SUMMARY_KEYS =
      List.of(
          "added-records",
          "deleted-records",
          "added-data-files",
          "deleted-data-files",
          "total-records");

  private final SparkSession spark;
  private final String catalog;
  private final java.util.function.Supplier<org.apache.iceberg.catalog.Catalog> icebergCatalog;

  IcebergOperations(
      SparkSession spark,
      String catalog,
      java.util.function.Supplier<org.apache.iceberg.catalog.Catalog> icebergCatalog) {
    this.spark = spark;
    this.catalog = catalog;
    this.icebergCatalog = icebergCatalog;
  }

  @Override
  public TableFormat format() {
    return TableFormat.ICEBERG;
  }

  private Table load(TableName t) {
    try {
      Table loaded =
          icebergCatalog
              .get()
              .loadTable(org.apache.iceberg.catalog.TableIdentifier.of(t.namespace(), t.table()));
      // Spark's Iceberg catalog caches tables; another session (or process) may have committed
      // since.
      loaded.refresh();
      return loaded;
    } catch (RuntimeException e) {
      throw new LakehouseException(
          t, String.format("Cannot load Iceberg table %s: %s", t, e.getMessage()), e);
    }
  }

  @Override
  public long currentVersion(TableName table) {
    Snapshot s = load(table).currentSnapshot();
    return s == null ? -1L : s.snapshotId();
  }

  @Override
  public boolean containsBatch(TableName table, String batchId) {
    Table t = load(table);
    // Only the current snapshot's ancestry counts: a rolled-back snapshot's batch is no longer in
    // the table.
    for (Snapshot s : org.apache.iceberg.util.SnapshotUtil.currentAncestors(t)) {
      if (batchId.equals(s.summary().get(CommitTag.BATCH_KEY))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public OptionalLong commit(
      SparkSession session, TableName table, CommitTag tag, Runnable statement) {
    CommitMetadata.withCommitProperties(
        tag.properties(),
        () -> {
          statement.run();
          return null;
        },
        RuntimeException.class);
    return committedBy(table, tag.runId());
  }

  @Override
  public OptionalLong committedBy(TableName table, String runId) {
    Table t = load(table);
    for (Snapshot s : org.apache.iceberg.util.SnapshotUtil.currentAncestors(t)) {
      if (runId.equals(s.summary().get(CommitTag.RUN_KEY))) {
        return OptionalLong.of(s.snapshotId()); // newest first
      }
    }
    return OptionalLong.empty();
  }

  @Override
  public boolean isConflict(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof org.apache.iceberg.exceptions.CommitFailedException) {
        return true; // another commit changed the table first (not CommitStateUnknownException)
      }
      // Serializable isolation: a concurrent commit added or removed files this write read.
      if (t instanceof org.apache.iceberg.exceptions.ValidationException
          && t.getMessage() != null
          && t.getMessage()
              .matches("(?is).*(conflicting|concurrent|missing required files|found new).*")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public List<HistoryEntry> history(TableName table) {
    List<HistoryEntry> out = new ArrayList<>();
    List<Snapshot> snapshots = new ArrayList<>();
    load(table).snapshots().forEach(snapshots::add);
    snapshots.sort(Comparator.comparingLong(Snapshot::timestampMillis).reversed());
    for (Snapshot s : snapshots) {
      Map<String, String> details = new TreeMap<>();
      for (String k : SUMMARY_KEYS) {
        if (s.summary().containsKey(k)) {
          details.put(k, s.summary().get(k));
        }
      }
      out.add(
          new HistoryEntry(
              s.snapshotId(),
              Instant.ofEpochMilli(s.timestampMillis()),
              s.operation(),
              Optional.ofNullable(s.summary().get(CommitTag.BATCH_KEY)),
              details.toString()));
    }
    return out;
  }

  @Override
  public FileStats fileStats(TableName table) {
    Snapshot s = load(table).currentSnapshot();
    if (s == null) {
      return new FileStats(0, 0);
    }
    return new FileStats(
        Long.parseLong(s.summary().getOrDefault("total-data-files", "0")),
        Long.parseLong(s.summary().getOrDefault("total-files-size", "0")));
  }

  @Override
  public List<String> beforeTypeChange(TableName table) {
    return List.of();
  }

  @Override
  public String compact(TableName table, boolean dryRun) {
    if (dryRun) {
      return String.format(
          "rewrite_data_files would bin-pack the %d live files", fileStats(table).files());
    }
    Row r =
        spark
            .sql(
                String.format(
                    "CALL %s.system.rewrite_data_files(table => '%s.%s', options => map('min-input-files', '2'))",
                    catalog, catalog, table))
            .first();
    return String.format("rewrite_data_files rewrote %d files into %d", r.getInt(0), r.getInt(1));
  }

  @Override
  public List<String> expire(TableName table, Retention retention, boolean dryRun, Instant now) {
    Instant olderThan = now.minus(retention.age());
    Instant orphansOlderThan = orphanHorizon(now, olderThan);
    List<String> lines = new ArrayList<>();
    if (dryRun) {
      List<Long> expiring = expiringSnapshots(load(table), olderThan, retention.versions());
      lines.add(
          String.format(
              "expire_snapshots would expire %d snapshots %s (keeping those within %d days and the last %d)",
              expiring.size(), expiring, retention.days(), retention.versions()));
    } else {
      Row r =
          spark
              .sql(
                  String.format(
                      "CALL %s.system.expire_snapshots(table => '%s.%s', older_than => %s,"
                          + " retain_last => %d)",
                      catalog, catalog, table, instant(olderThan), retention.versions()))
              .first();
      lines.add(
          String.format(
              "expire_snapshots deleted %d data files and %d manifest lists",
              r.getLong(0), r.getLong(4)));
    }
    long orphans =
        spark
            .sql(
                String.format(
                    "CALL %s.system.remove_orphan_files(table => '%s.%s', older_than => %s,"
                        + " dry_run => %s)",
                    catalog, catalog, table, instant(orphansOlderThan), dryRun))
            .count();
    lines.add(
        String.format(
            "remove_orphan_files %s %d files older than %s UTC",
            dryRun ? "would remove" : "removed", orphans, TS.format(orphansOlderThan)));
    return lines;
  }

  /**
   * Orphan files are removed only when older than the retention horizon and {@link #ORPHAN_MIN_AGE}
   * older than both the job's clock and the system clock: a write in flight is never taken for an
   * orphan, and remove_orphan_files itself refuses a horizon within 24 hours of the system clock.
   */
  private static Instant orphanHorizon(Instant now, Instant olderThan) {
    Instant horizon = olderThan;
    for (Instant clock : new Instant[] {now, Instant.now()}) {
      Instant minAge = clock.minus(ORPHAN_MIN_AGE);
      horizon = minAge.isBefore(horizon) ? minAge : horizon;
    }
    return horizon;
  }

  /**
   * {@code instant} as a SQL timestamp literal that names its zone ({@code TIMESTAMP '2026-12-01
   * 07:35:00.000Z'}), so Spark reads the same instant whatever the session time zone; a literal
   * without a zone would be read as wall-clock time in the session zone. It stays a literal (not
   * {@code timestamp_millis(...)}) because procedure arguments are checked to be literals.
   */
  private static String instant(Instant instant) {
    return "TIMESTAMP '" + TS.format(instant) + "Z'";
  }

  /**
   * Snapshots that expire_snapshots would remove: older than the horizon and not among the last
   * {@code keep}.
   */
  static List<Long> expiringSnapshots(Table table, Instant olderThan, int keep) {
    List<Snapshot> snapshots = new ArrayList<>();
    table.snapshots().forEach(snapshots::add);
    snapshots.sort(Comparator.comparingLong(Snapshot::timestampMillis).reversed());
    List<Long> out = new ArrayList<>();
    for (int i = keep; i < snapshots.size(); i++) {
      if (snapshots.get(i).timestampMillis() < olderThan.toEpochMilli()) {
        out.add(snapshots.get(i).snapshotId());
      }
    }
    return out;
  }
}
