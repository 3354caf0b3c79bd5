package dev.lakeforge.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the session factory adds: everything on the embedded default, only what is missing on a
 * cluster.
 */
class SessionFactoryTest {
  @TempDir Path home;

  private Map<String, String> settings(
      PlatformConfig config, SparkConf existing, Map<String, String> overrides) {
    return SessionFactory.settings(config, Platform.resolve(config, home), overrides, existing);
  }

  @Test
  void embeddedDefaultIsLocalSparkWithDeltaAndIcebergOnSqlite() {
    Map<String, String> s = settings(PlatformConfig.defaults(), new SparkConf(false), Map.of());
    String home = this.home.toAbsolutePath().toString();
    assertThat(s)
        .containsEntry("spark.master", "local[*]")
        .containsEntry(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .containsEntry("spark.sql.catalog.iceberg", "org.apache.iceberg.spark.SparkCatalog")
        .containsEntry("spark.sql.catalog.iceberg.type", "jdbc")
        .containsEntry("spark.sql.catalog.iceberg.uri", "jdbc:sqlite:" + home + "/catalog.db")
        .containsEntry("spark.sql.catalog.iceberg.warehouse", home + "/warehouse/iceberg")
        .containsEntry("spark.sql.catalog.iceberg.jdbc.journal_mode", "WAL")
        .containsEntry("spark.sql.warehouse.dir", home + "/warehouse")
        .containsEntry("spark.sql.catalogImplementation", "in-memory")
        .containsEntry("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .containsEntry("spark.lakeforge.home", home)
        .containsEntry(
            "spark.sql.extensions",
            "io.delta.sql.DeltaSparkSessionExtension,org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions,"
                + "dev.lakeforge.lakehouse.access.AccessExtension");
  }

  @Test
  void onAClusterOnlyWhatIsMissingIsAdded() {
    SparkConf cluster =
        new SparkConf(false)
            .set("spark.master", "yarn")
            .set("spark.sql.shuffle.partitions", "400")
            .set("spark.sql.parquet.outputTimestampType", "INT96")
            .set("spark.sql.catalog.spark_catalog", "com.example.TheirCatalog")
            .set("spark.sql.extensions", "com.example.TheirExtension");
    Map<String, String> s = settings(PlatformConfig.defaults(), cluster, Map.of());
    assertThat(s)
        .doesNotContainKeys(
            "spark.master",
            "spark.sql.shuffle.partitions",
            "spark.sql.parquet.outputTimestampType",
            "spark.sql.catalog.spark_catalog",
            "spark.ui.enabled",
            "spark.sql.catalogImplementation",
            "spark.databricks.delta.snapshotPartitions")
        .containsEntry("spark.sql.catalog.iceberg", "org.apache.iceberg.spark.SparkCatalog")
        .containsEntry(
            "spark.sql.extensions",
            "com.example.TheirExtension,io.delta.sql.DeltaSparkSessionExtension,"
                + "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions,"
                + "dev.lakeforge.lakehouse.access.AccessExtension");
  }

  @Test
  void configAndOverridesApplyInOrderAndTheCatalogNameIsConfigurable() throws Exception {
    Path conf =
        Files.writeString(
            home.resolve("lakeforge.yaml"),
            """
        spark:
          master: local[3]
          conf: {spark.sql.shuffle.partitions: "16", spark.executor.memory: 2g}
        iceberg: {catalog-name: lake}
        catalog: {url: "jdbc:postgresql://db:5432/lf", user: lf, password-file: %s}
        """
                .formatted(Files.writeString(home.resolve("pw"), "s3cret\n")));
    Map<String, String> s =
        settings(
            PlatformConfig.load(conf), new SparkConf(false), Map.of("spark.executor.memory", "4g"));
    assertThat(s)
        .containsEntry("spark.master", "local[3]")
        .containsEntry("spark.sql.shuffle.partitions", "16")
        .containsEntry("spark.executor.memory", "4g")
        .containsEntry("spark.sql.catalog.lake", "org.apache.iceberg.spark.SparkCatalog")
        .containsEntry("spark.sql.catalog.lake.uri", "jdbc:postgresql://db:5432/lf")
        .containsEntry("spark.sql.catalog.lake.jdbc.user", "lf")
        .containsEntry("spark.sql.catalog.lake.jdbc.password", "s3cret")
        .doesNotContainKey("spark.sql.catalog.lake.jdbc.journal_mode")
        .doesNotContainKey("spark.sql.catalog.iceberg");
    assertThat(s.values()).noneMatch(v -> v.contains("s3cret") && !v.equals("s3cret"));
  }

  @Test
  void badPlatformConfigIsNamed() throws Exception {
    Path conf = Files.writeString(home.resolve("bad.yaml"), "spark: {conf: {shuffle: 3}}\n");
    assertThatThrownBy(() -> PlatformConfig.load(conf))
        .hasMessageContainingAll("bad.yaml", "shuffle");
    Path notSpark = Files.writeString(home.resolve("bad2.yaml"), "spark: {conf: {shuffle: '3'}}\n");
    assertThatThrownBy(() -> PlatformConfig.load(notSpark))
        .hasMessageContainingAll(
            "bad2.yaml", "'shuffle' is not a Spark setting", "start with 'spark.'");
  }
}
