package dev.lakeforge.bench;

import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.catalog.TableRegistry;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.SparkInternals;
import dev.lakeforge.lakehouse.Lakehouse;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.TableCatalog;

/**
 * Where the time of one {@code lakeforge sql QUERY} goes: runs, in one fresh JVM, the steps the CLI
 * runs for it ({@code LakeforgeCli.spark()}, then {@code SqlCommand.run}) and prints each phase's
 * wall time, process CPU time, classes loaded, JIT and GC time.
 *
 * <p>The production code is called as is wherever a step is a public method. The first {@code
 * Lakehouse.open} is the exception: it is taken apart into its steps (catalog database with its
 * Flyway migrate, registry read, then attaching each Delta table with the same statements as {@code
 * Lakehouse.attachDeltaTables}), so that each gets its own time. The access check is the session
 * extension's, inside the analysis of the query.
 *
 * <p>With {@code -Dbench.noAttach=true} it leaves the Delta tables unattached and replaces the
 * check by what it does besides attaching (registry read and parse): an emulation of attaching
 * lazily, for a query such as {@code select 1} that names no table.
 *
 * <p>Usage: {@code StartupPhases HOME QUERY}, run from the directory the CLI would run in (it reads
 * {@code conf/lakeforge.yaml} from there). Set {@code -Dbench.launchedAtMs=<epoch ms>} to the time
 * the shell launched {@code java} to also see what the JVM spends before it records its own start.
 * Each phase is printed as a line {@code phase<TAB>name<TAB>wall ms<TAB>cpu ms<TAB>classes<TAB>jit
 * ms<TAB>gc ms}, for {@code bench/startup} to take medians over several JVMs.
 */
public final class StartupPhases {
  private final long mainAtMs = System.currentTimeMillis();
  private long lastNanos = System.nanoTime();
  private long lastCpu = cpuNanos();
  private long lastClasses = classes();
  private long lastJit = jitMillis();
  private long lastGc = gcMillis();
  private SparkSession watched;
  private String icebergName;
  private boolean icebergSeen;
  private boolean lakeforgeSeen;

  private StartupPhases() {}

  /** Runs the phases for {@code args[0]} (home) and {@code args[1]} (the query). */
  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: StartupPhases HOME QUERY");
      System.exit(2);
    }
    new StartupPhases().run(Path.of(args[0]), args[1]);
    System.exit(0);
  }

  private void run(Path home, String query) {
    long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
    String launched = System.getProperty("bench.launchedAtMs");
    if (launched != null) {
      print(
          "launch -> JVM start time (process, before the JVM's clock)",
          jvmStart - Long.parseLong(launched),
          -1,
          -1,
          -1,
          -1);
    }
    // What the JVM did before main: CPU, classes and JIT so far are all of it.
    print(
        "JVM start -> main (JVM init, opening the jar)",
        mainAtMs - jvmStart,
        lastCpu / 1_000_000,
        lastClasses,
        lastJit,
        lastGc);
    lastNanos = System.nanoTime();

    for (String c :
        List.of(
            "org.apache.spark.SparkConf",
            "org.apache.spark.SparkContext",
            "org.apache.spark.sql.SparkSession",
            "org.apache.spark.sql.classic.SparkSession",
            "io.delta.sql.DeltaSparkSessionExtension",
            "org.apache.iceberg.spark.SparkCatalog")) {
      try {
        Class.forName(c);
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("Not on the classpath: " + c, e);
      }
    }
    phase("load Spark/Delta/Iceberg entry classes");

    PlatformConfig config = PlatformConfig.loadOrDefault(Optional.empty());
    Platform platform = Platform.resolve(config, home);
    phase("platform config (YAML) + Platform.resolve");

    SparkSession spark = SessionFactory.getOrCreate(config, platform, Map.of());
    phase("SessionFactory.getOrCreate (SparkContext, SparkSession)");

    spark.conf().set(Principal.SPARK_CONF, Principal.resolve(Optional.empty()).name());
    phase("first spark.conf(): SessionState, Delta + Iceberg extensions");
    // From here on the session state exists, so looking at its catalog manager changes nothing.
    watched = spark;
    icebergName = platform.icebergCatalog();
    watchCatalogs("first spark.conf(): SessionState, Delta + Iceberg extensions");

    Platform fromSpark = Platform.of(spark);
    try (java.sql.Connection c = sqlite(fromSpark.catalogUrl());
        java.sql.ResultSet rs = c.createStatement().executeQuery("select 1")) {
      rs.next();
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("Cannot open the catalog " + fromSpark.catalogUrl(), e);
    }
    phase("Lakehouse.open #1: SQLite driver + first connection (split out of CatalogDatabase.of)");
    CatalogDatabase db = CatalogDatabase.of(fromSpark);
    phase("Lakehouse.open #1: CatalogDatabase.of, first Flyway migrate/validate");

    if (Boolean.getBoolean("bench.icebergFirst")) {
      SparkInternals.catalog(spark, platform.icebergCatalog());
      phase("split out: Iceberg SparkCatalog init (JdbcCatalog)");
      SparkInternals.catalog(spark, SessionFactory.CATALOG_TABLES);
      phase("split out: JDBC catalog of the catalog tables init");
    }

    List<RegisteredTable> registered = new TableRegistry(db).list();
    phase("Lakehouse.open #1: registry read (" + registered.size() + " tables)");

    boolean noAttach = Boolean.getBoolean("bench.noAttach");
    TableCatalog delta = (TableCatalog) SparkInternals.catalog(spark, "spark_catalog");
    for (RegisteredTable r : noAttach ? List.<RegisteredTable>of() : registered) {
      if (!r.format().equals("delta")) {
        continue;
      }
      Identifier id = Identifier.of(new String[] {r.name().namespace()}, r.name().table());
      if (delta.tableExists(id)) {
        continue;
      }
      phase("Lakehouse.open #1: attach " + r.name() + ": tableExists");
      spark.sql("CREATE NAMESPACE IF NOT EXISTS spark_catalog." + ident(r.name().namespace()));
      phase("Lakehouse.open #1: attach " + r.name() + ": CREATE NAMESPACE");
      spark.sql(
          String.format(
              "CREATE TABLE IF NOT EXISTS %s USING delta LOCATION %s",
              r.name(), literal(r.location())));
      phase("Lakehouse.open #1: attach " + r.name() + ": CREATE TABLE (Delta log)");
    }

    if (noAttach) {
      // What the check does for a query that names no table, without Lakehouse.open's attaching:
      // the registry read and the parse.
      new TableRegistry(CatalogDatabase.of(fromSpark)).list();
      SparkInternals.parse(spark, query);
      phase("emulated check without attaching (registry read, parse)");
    }

    Dataset<Row> df = spark.sql(query);
    phase("spark.sql(query): parse + analyze");

    Iterator<Row> rows = df.limit(1001).toLocalIterator();
    int n = 0;
    while (rows.hasNext()) {
      rows.next();
      n++;
    }
    phase("run the query, fetch " + n + " row(s) (toLocalIterator)");

    if (!noAttach) {
      Lakehouse.open(spark);
      phase("extra: one more Lakehouse.open (tables attached, Flyway done)");
    }

    if (!icebergSeen) {
      SparkInternals.catalog(spark, platform.icebergCatalog());
      phase("extra: Iceberg SparkCatalog init (JdbcCatalog), not on this command's path");
    }

    spark.stop();
    phase("spark.stop() (the CLI's shutdown hook)");
  }

  /** Says in which phase Spark first initialised the Iceberg and the catalog-tables catalogs. */
  private void watchCatalogs(String phase) {
    if (watched == null) {
      return;
    }
    if (!icebergSeen && catalogRegistered(watched, icebergName)) {
      icebergSeen = true;
      System.out.println(
          "info\tIceberg catalog '" + icebergName + "' first initialised in\t" + phase);
    }
    if (!lakeforgeSeen && catalogRegistered(watched, SessionFactory.CATALOG_TABLES)) {
      lakeforgeSeen = true;
      System.out.println(
          "info\tJDBC catalog '"
              + SessionFactory.CATALOG_TABLES
              + "' first initialised in\t"
              + phase);
    }
  }

  private static java.sql.Connection sqlite(String url) throws java.sql.SQLException {
    org.sqlite.SQLiteDataSource ds = new org.sqlite.SQLiteDataSource();
    ds.setUrl(url);
    return ds.getConnection();
  }

  /**
   * Whether Spark has already initialised catalog {@code name}. {@code
   * CatalogManager.isCatalogRegistered} would initialise it to find out, so this reads the
   * manager's private map of loaded catalogs instead.
   */
  private static boolean catalogRegistered(SparkSession spark, String name) {
    Object manager = SparkInternals.classic(spark).sessionState().catalogManager();
    try {
      java.lang.reflect.Field f = manager.getClass().getDeclaredField("catalogs");
      f.setAccessible(true);
      return ((scala.collection.mutable.HashMap<String, ?>) f.get(manager)).contains(name);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("Spark's CatalogManager has no field 'catalogs' any more", e);
    }
  }

  private void phase(String name) {
    long nanos = System.nanoTime();
    long cpu = cpuNanos();
    long cls = classes();
    long jit = jitMillis();
    long gc = gcMillis();
    watchCatalogs(name);
    if (!name.startsWith("(")) {
      print(
          name,
          (nanos - lastNanos) / 1_000_000,
          (cpu - lastCpu) / 1_000_000,
          cls - lastClasses,
          jit - lastJit,
          gc - lastGc);
    }
    lastNanos = System.nanoTime();
    lastCpu = cpuNanos();
    lastClasses = classes();
    lastJit = jitMillis();
    lastGc = gcMillis();
  }

  private static void print(String name, long wallMs, long cpuMs, long cls, long jitMs, long gcMs) {
    System.out.println(
        String.format(
            Locale.ROOT, "phase\t%s\t%d\t%d\t%d\t%d\t%d", name, wallMs, cpuMs, cls, jitMs, gcMs));
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static long classes() {
    return ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
  }

  private static long jitMillis() {
    return ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
  }

  private static long gcMillis() {
    long total = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      total += Math.max(0, gc.getCollectionTime());
    }
    return total;
  }

  // The quoting of dev.lakeforge.lakehouse.Sql (package-private there).
  private static String literal(String value) {
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  private static String ident(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
