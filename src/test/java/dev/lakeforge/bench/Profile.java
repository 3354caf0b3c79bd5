package dev.lakeforge.bench;

import java.util.Map;
import org.apache.spark.sql.internal.SQLConf;

/**
 * The two sessions the benchmark compares. Both are built by the production {@code SessionFactory}
 * in embedded mode; they differ only in the two settings under test, so every other choice (master,
 * shuffle partitions, catalogs) is the same on both sides.
 */
enum Profile {
  /**
   * Delta's and Spark's own defaults for the two settings: what a plain local session would run
   * with.
   */
  DEFAULTS("Delta/Spark defaults"),
  /** The embedded-mode session exactly as Lakeforge builds it. */
  LAKEFORGE("Lakeforge embedded");

  /** Partitions of Delta's snapshot state reconstruction (also used when writing checkpoints). */
  static final String SNAPSHOT_PARTITIONS = "spark.databricks.delta.snapshotPartitions";

  /** Task count of distributed file listings; Delta's VACUUM lists the table with it. */
  static final String LISTING_PARALLELISM =
      "spark.sql.sources.parallelPartitionDiscovery.parallelism";

  /**
   * {@code Snapshot.defaultNumSnapshotPartitions} in Delta 4.3.1, used when the setting is absent.
   */
  static final String SNAPSHOT_PARTITIONS_DEFAULT = "50";

  private final String label;

  Profile(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }

  /**
   * The {@code SessionFactory} overrides that make this profile; they win over Lakeforge's embedded
   * values.
   */
  Map<String, String> overrides() {
    return switch (this) {
      case DEFAULTS ->
          Map.of(
              SNAPSHOT_PARTITIONS,
              SNAPSHOT_PARTITIONS_DEFAULT,
              LISTING_PARALLELISM,
              SQLConf.PARALLEL_PARTITION_DISCOVERY_PARALLELISM().defaultValueString());
      case LAKEFORGE -> Map.of();
    };
  }
}
