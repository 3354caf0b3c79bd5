package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * A table as it is now: spec facts plus what the format reports.
 *
 * @param name the table
 * @param format delta or iceberg
 * @param sqlName how to name it in Spark SQL
 * @param location where its files live
 * @param schema current columns
 * @param primaryKey the primary key
 * @param partitionBy partition columns
 * @param retention history kept by maintenance
 * @param version current version (Delta version or Iceberg snapshot id)
 * @param files live data files
 * @param bytes live data bytes
 * @param properties table properties
 */
public record TableInfo(
    TableName name,
    TableFormat format,
    String sqlName,
    String location,
    StructType schema,
    List<String> primaryKey,
    List<String> partitionBy,
    Retention retention,
    long version,
    long files,
    long bytes,
    Map<String, String> properties) {

  /** Describes {@code table}. */
  public static TableInfo describe(SparkSession spark, TableName table) {
    Lakehouse lh = Lakehouse.open(spark);
    TableSpec spec = lh.spec(table);
    lh.require(dev.lakeforge.catalog.Privilege.SELECT, table);
    TableOperations ops = lh.operations(spec.format());
    TableState state = lh.state(table, spec.format());
    TableOperations.FileStats stats = ops.fileStats(table);
    return new TableInfo(
        table,
        spec.format(),
        lh.sqlName(spec),
        state.property("location").orElse(lh.location(spec)),
        state.schema(),
        spec.primaryKey(),
        state.partitionColumns(),
        spec.retention(),
        ops.currentVersion(table),
        stats.files(),
        stats.bytes(),
        new TreeMap<>(state.properties()));
  }

  /** The history of {@code table}, newest first. */
  public static List<HistoryEntry> history(SparkSession spark, TableName table) {
    Lakehouse lh = Lakehouse.open(spark);
    TableSpec spec = lh.spec(table);
    lh.require(dev.lakeforge.catalog.Privilege.SELECT, table);
    return lh.operations(spec.format()).history(table);
  }
}
