package dev.lakeforge.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Builds the SparkSession for a {@link Platform}: Delta owns {@code spark_catalog}, Iceberg is a
 * JDBC-backed {@code SparkCatalog} on the catalog database, and the platform travels in the conf.
 *
 * <p>Under {@code spark-submit}, Databricks or EMR the platform's own settings win: this only adds
 * what is missing (extensions are appended to the platform's list), and {@code getOrCreate} returns
 * the platform's session.
 */
public final class SessionFactory {
  static final String DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension";
  static final String ICEBERG_EXTENSION =
      "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions";

  /** Lakeforge's access control (in the lakehouse layer; named here so every session gets it). */
  static final String ACCESS_EXTENSION = "dev.lakeforge.lakehouse.access.AccessExtension";

  static final String DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog";
  static final String ICEBERG_CATALOG = "org.apache.iceberg.spark.SparkCatalog";
  static final String JDBC_CATALOG =
      "org.apache.spark.sql.execution.datasources.v2.jdbc.JDBCTableCatalog";

  /**
   * Name of the SQL catalog that exposes the Lakeforge catalog's tables, e.g. {@code
   * lakeforge.models}.
   */
  public static final String CATALOG_TABLES = "lakeforge";

  private SessionFactory() {}

  /**
   * Returns the session for {@code platform}, creating it if none is running.
   *
   * @param config the platform config (Spark section)
   * @param platform the resolved platform
   * @param overrides {@code --spark-conf} values; they win over the config's
   */
  public static SparkSession getOrCreate(
      PlatformConfig config, Platform platform, Map<String, String> overrides) {
    SparkConf existing =
        new SparkConf(true); // what spark-submit / the cluster set as system properties
    Map<String, String> settings = settings(config, platform, overrides, existing);
    SparkSession.Builder builder = SparkSession.builder().appName("lakeforge");
    settings.forEach(builder::config);
    return builder.getOrCreate();
  }

  /** The settings to apply given what the platform already set (exposed for tests). */
  static Map<String, String> settings(
      PlatformConfig config, Platform platform, Map<String, String> overrides, SparkConf existing) {
    boolean embedded = !existing.contains("spark.master");
    Map<String, String> wanted = new LinkedHashMap<>();
    if (embedded) {
      wanted.put("spark.master", config.spark().master().orElse(PlatformConfig.MASTER_DEFAULT));
      wanted.put("spark.driver.host", "127.0.0.1");
      wanted.put("spark.ui.enabled", "false");
      wanted.put("spark.ui.showConsoleProgress", "false");
      wanted.put("spark.sql.shuffle.partitions", "8");
      wanted.put("spark.sql.catalogImplementation", "in-memory");
      // Measured on 2 cores (bench/RESULTS.md): Delta's defaults are sized for clusters. 50
      // snapshot partitions made a
      // one-row commit 1.8x slower, and 10,000 listing tasks made VACUUM 12-17x slower (DRY RUN 40
      // s instead of 2.3 s).
      wanted.put("spark.databricks.delta.snapshotPartitions", "8");
      wanted.put("spark.sql.sources.parallelPartitionDiscovery.parallelism", "8");
    }
    wanted.put("spark.sql.warehouse.dir", platform.warehouse());
    wanted.put("spark.sql.session.timeZone", "UTC");
    // Parquet's own 64-bit microsecond timestamps, as Iceberg always writes, instead of Spark's
    // default, the deprecated 96-bit form: readers copy them as they are (INT96 is converted value
    // by value: ~10 % of a point-in-time join's scan time, bench/RESULTS.md). A cluster's own
    // choice
    // wins, for readers that need INT96.
    wanted.put("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS");
    wanted.put("spark.sql.catalog.spark_catalog", DELTA_CATALOG);
    String ice = "spark.sql.catalog." + platform.icebergCatalog();
    wanted.put(ice, ICEBERG_CATALOG);
    wanted.put(ice + ".type", "jdbc");
    wanted.put(ice + ".uri", platform.catalogUrl());
    wanted.put(ice + ".warehouse", platform.icebergWarehouse());
    wanted.put(ice + ".jdbc.schema-version", "V1");
    if (platform.sqliteCatalog()) {
      // Several Lakeforge processes may share one home: WAL lets readers run beside a writer, and
      // writers wait for
      // each other instead of failing with SQLITE_BUSY.
      wanted.put(ice + ".jdbc.journal_mode", "WAL");
      wanted.put(ice + ".jdbc.busy_timeout", "30000");
    }
    platform.catalogUser().ifPresent(u -> wanted.put(ice + ".jdbc.user", u));
    // Spark redacts conf keys matching "password" in its UI and logs.
    platform.catalogPassword().ifPresent(p -> wanted.put(ice + ".jdbc.password", p));
    // The catalog's own tables (models, model_versions, audit, ...) as a read-only SQL catalog:
    // lakeforge.models.
    String cat = "spark.sql.catalog." + CATALOG_TABLES;
    wanted.put(cat, JDBC_CATALOG);
    wanted.put(cat + ".url", platform.catalogUrl());
    wanted.put(
        cat + ".driver", platform.sqliteCatalog() ? "org.sqlite.JDBC" : "org.postgresql.Driver");
    platform.catalogUser().ifPresent(u -> wanted.put(cat + ".user", u));
    platform.catalogPassword().ifPresent(p -> wanted.put(cat + ".password", p));
    // Read-only at the connection, so no SQL form can change grants, aliases, runs or audit rows,
    // whatever the access check says: SQLite opens the file read-only (SQLITE_OPEN_READONLY), and
    // PostgreSQL runs every statement, auto-commit ones too, in a read-only transaction.
    if (platform.sqliteCatalog()) {
      wanted.put(cat + ".open_mode", "1");
    } else {
      wanted.put(cat + ".readOnly", "true");
      wanted.put(cat + ".readOnlyMode", "always");
    }
    wanted.putAll(platform.sparkConf());
    wanted.putAll(config.spark().conf());

    Map<String, String> settings = new LinkedHashMap<>();
    wanted.forEach(
        (k, v) -> {
          if (!existing.contains(k)) {
            settings.put(k, v);
          }
        });
    settings.put("spark.sql.extensions", extensions(existing.getOption("spark.sql.extensions")));
    settings.putAll(overrides);
    return settings;
  }

  private static String extensions(scala.Option<String> current) {
    List<String> list = new ArrayList<>();
    if (current.isDefined()) {
      for (String e : current.get().split(",")) {
        if (!e.isBlank()) {
          list.add(e.trim());
        }
      }
    }
    for (String e : List.of(DELTA_EXTENSION, ICEBERG_EXTENSION, ACCESS_EXTENSION)) {
      if (!list.contains(e)) {
        list.add(e);
      }
    }
    return String.join(",", list);
  }
}
