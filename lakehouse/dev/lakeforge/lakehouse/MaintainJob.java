package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps tables healthy: brings the table's retention properties up to date with its spec, then
 * compaction (Delta OPTIMIZE, Iceberg rewrite_data_files), then retention (Delta VACUUM, Iceberg
 * expire_snapshots and remove_orphan_files) according to each spec's retention, measured back from
 * the job's clock. A dry run reports what would be done and changes nothing.
 *
 * <p>Before any table is touched, every table is checked by {@link MaintenanceGuard}: a table whose
 * folder equals or contains another table's folder or the platform's files is refused, since VACUUM
 * and remove_orphan_files would delete what it does not track.
 *
 * <p>A table applied before Lakeforge wrote the retention properties ({@link
 * Retention#tableProperties}), or whose properties were changed by hand, gets them set (one
 * metadata commit, counted as a version like any other) before compaction, so the format's own log
 * and snapshot cleanup keep what the spec keeps.
 *
 * @param tables the tables to maintain; empty means every applied table
 * @param dryRun report only
 * @param clock where "now" comes from: the retention horizons are measured back from it
 */
public record MaintainJob(List<TableName> tables, boolean dryRun, Clock clock) {
  private static final Logger LOG = LoggerFactory.getLogger(MaintainJob.class);

  public MaintainJob {
    Objects.requireNonNull(tables, "tables is null");
    Objects.requireNonNull(clock, "clock is null");
    tables = List.copyOf(tables);
  }

  /** Maintains {@code tables} with the system clock. */
  public MaintainJob(List<TableName> tables, boolean dryRun) {
    this(tables, dryRun, Clock.systemUTC());
  }

  /**
   * What maintenance did to one table.
   *
   * @param table the table
   * @param format its format
   * @param filesBefore live data files before
   * @param filesAfter live data files after
   * @param bytesOnDiskBefore bytes under the table location before (all versions, logs and
   *     metadata)
   * @param bytesOnDiskAfter the same after
   * @param actions what each step did or would do
   */
  public record Report(
      TableName table,
      TableFormat format,
      long filesBefore,
      long filesAfter,
      long bytesOnDiskBefore,
      long bytesOnDiskAfter,
      List<String> actions) {
    public long bytesFreed() {
      return bytesOnDiskBefore - bytesOnDiskAfter;
    }
  }

  public List<Report> run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    // every name is checked, and every grant, before any table is touched
    List<TableSpec> specs = tables.isEmpty() ? lh.specs() : tables.stream().map(lh::spec).toList();
    specs.forEach(spec -> lh.require(dev.lakeforge.catalog.Privilege.MODIFY, spec.name()));
    java.util.Map<String, String> params = new java.util.LinkedHashMap<>();
    params.put("tables", tables.isEmpty() ? "(all)" : tables.toString());
    params.put("dry-run", Boolean.toString(dryRun));
    return lh.recorded(
        "tables.maintain",
        params,
        run -> maintain(spark, lh, specs, run),
        reports ->
            java.util.Map.of(
                "tables", reports.size(),
                "bytes_freed", reports.stream().mapToLong(Report::bytesFreed).sum()));
  }

  private List<Report> maintain(
      SparkSession spark,
      Lakehouse lh,
      List<TableSpec> specs,
      dev.lakeforge.catalog.RunLog.Recording run) {
    MaintenanceGuard.check(lh, specs);
    List<Report> reports = new ArrayList<>();
    int i = 0;
    for (TableSpec spec : specs) {
      i++;
      TableOperations ops = lh.operations(spec.format());
      TableName t = spec.name();
      String location = lh.location(spec);
      spark.sparkContext().setJobDescription("lakeforge: maintain " + t);
      long versionBefore = ops.currentVersion(t);
      long filesBefore = ops.fileStats(t).files();
      long bytesBefore = bytesOnDisk(spark, location);
      List<String> actions = new ArrayList<>();
      retentionProperties(lh, spec).ifPresent(actions::add);
      actions.add(ops.compact(t, dryRun));
      Instant now = clock.instant();
      actions.addAll(ops.expire(t, spec.retention(), dryRun, now));
      Report r =
          new Report(
              t,
              spec.format(),
              filesBefore,
              ops.fileStats(t).files(),
              bytesBefore,
              bytesOnDisk(spark, location),
              List.copyOf(actions));
      long versionAfter = ops.currentVersion(t);
      if (versionAfter != versionBefore) { // compaction commits a new version with the same rows
        run.input(dev.lakeforge.catalog.Artifact.table(t.toString(), versionBefore));
        run.output(dev.lakeforge.catalog.Artifact.table(t.toString(), versionAfter));
      }
      LOG.info("maintained {} ({}/{}): {}", t, i, specs.size(), actions);
      reports.add(r);
    }
    spark.sparkContext().setJobDescription(null);
    return List.copyOf(reports);
  }

  /**
   * Sets the retention properties the table lacks or holds with another value than its spec gives
   * (a dry run only says so); empty if they are current.
   */
  private java.util.Optional<String> retentionProperties(Lakehouse lh, TableSpec spec) {
    Map<String, String> want = spec.tableProperties();
    Map<String, String> have = lh.state(spec.name(), spec.format()).properties();
    Map<String, String> set = new TreeMap<>();
    for (String key : spec.retention().tableProperties(spec.format()).keySet()) {
      if (!want.get(key).equals(have.get(key))) {
        set.put(key, want.get(key));
      }
    }
    if (set.isEmpty()) {
      return java.util.Optional.empty();
    }
    if (!dryRun) {
      StringBuilder sql =
          new StringBuilder("ALTER TABLE ").append(lh.sqlName(spec)).append(" SET TBLPROPERTIES (");
      set.forEach(
          (k, v) -> sql.append(Sql.literal(k)).append(" = ").append(Sql.literal(v)).append(", "));
      sql.setLength(sql.length() - 2);
      lh.spark().sql(sql.append(")").toString());
    }
    return java.util.Optional.of(
        String.format(
            "retention properties %s %s (from the spec's retention)",
            dryRun ? "would be set:" : "set:", set));
  }

  static long bytesOnDisk(SparkSession spark, String location) {
    try {
      Path p = new Path(location);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      return fs.exists(p) ? fs.getContentSummary(p).getLength() : 0L;
    } catch (IOException e) {
      throw new LakehouseException(
          null, String.format("Cannot measure the size of %s: %s", location, e.getMessage()), e);
    }
  }
}
