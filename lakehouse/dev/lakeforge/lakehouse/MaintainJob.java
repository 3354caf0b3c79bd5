package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps tables healthy: compaction (Delta OPTIMIZE, Iceberg rewrite_data_files), then retention
 * (Delta VACUUM, Iceberg expire_snapshots and remove_orphan_files) according to each spec's
 * retention. A dry run reports what would be removed and changes nothing.
 *
 * @param tables the tables to maintain; empty means every applied table
 * @param dryRun report only
 */
public record MaintainJob(List<TableName> tables, boolean dryRun) {
  private static final Logger LOG = LoggerFactory.getLogger(MaintainJob.class);

  public MaintainJob {
    Objects.requireNonNull(tables, "tables is null");
    tables = List.copyOf(tables);
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
      actions.add(ops.compact(t, dryRun));
      actions.addAll(ops.expire(t, spec.retention(), dryRun));
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
