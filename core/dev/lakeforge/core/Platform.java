package dev.lakeforge.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.SparkSession;

/**
 * The resolved platform: the {@link PlatformConfig} with every default filled in for one home
 * directory. It travels inside the SparkSession's conf (keys under {@value #PREFIX}) so any job
 * given only a session can find the catalog and warehouse again, also under {@code spark-submit}.
 * Secrets never travel: only the name of the variable or file that holds them does.
 */
public record Platform(
    Path home,
    String warehouse,
    String catalogUrl,
    Optional<String> catalogUser,
    Optional<String> passwordEnv,
    Optional<String> passwordFile,
    String icebergCatalog,
    String modelStore) {

  /** Prefix of the Spark conf keys that carry the platform. */
  public static final String PREFIX = "spark.lakeforge.";

  static final String HOME = PREFIX + "home";
  static final String WAREHOUSE = PREFIX + "warehouse";
  static final String CATALOG_URL = PREFIX + "catalog.url";
  static final String CATALOG_USER = PREFIX + "catalog.user";
  static final String PASSWORD_ENV = PREFIX + "catalog.password-env";
  static final String PASSWORD_FILE = PREFIX + "catalog.password-file";
  static final String ICEBERG_CATALOG = PREFIX + "iceberg.catalog";
  static final String MODEL_STORE = PREFIX + "model-store";

  /** Resolves {@code config} for {@code home}: fills in the embedded defaults. */
  public static Platform resolve(PlatformConfig config, Path home) {
    Path absHome = home.toAbsolutePath().normalize();
    String warehouse = config.warehouse().orElse(absHome.resolve("warehouse").toString());
    String url = config.catalog().url().orElse("jdbc:sqlite:" + absHome.resolve("catalog.db"));
    return new Platform(
        absHome,
        stripTrailingSlash(warehouse),
        url,
        config.catalog().user(),
        config.catalog().passwordEnv(),
        config.catalog().passwordFile(),
        config.iceberg().name(),
        stripTrailingSlash(config.modelStore().orElse(absHome.resolve("models").toString())));
  }

  /** Reads the platform back from a session built by {@link SessionFactory}. */
  public static Platform of(SparkSession spark) {
    var conf = spark.conf();
    if (!conf.contains(HOME)) {
      throw new LakeforgeException(
          "This SparkSession was not configured for Lakeforge (no "
              + HOME
              + "). Build it with SessionFactory or pass --conf "
              + HOME
              + "=... and the other spark.lakeforge.* keys to spark-submit.");
    }
    return new Platform(
        Path.of(conf.get(HOME)),
        conf.get(WAREHOUSE),
        conf.get(CATALOG_URL),
        opt(spark, CATALOG_USER),
        opt(spark, PASSWORD_ENV),
        opt(spark, PASSWORD_FILE),
        conf.get(ICEBERG_CATALOG),
        conf.get(MODEL_STORE, Path.of(conf.get(HOME)).resolve("models").toString()));
  }

  /** Whether the catalog database is an embedded SQLite file. */
  public boolean sqliteCatalog() {
    return catalogUrl.startsWith("jdbc:sqlite:");
  }

  /** The Iceberg warehouse: a folder under the Lakeforge warehouse. */
  public String icebergWarehouse() {
    return warehouse + "/iceberg";
  }

  /**
   * Resolves the catalog password from its environment variable or file, at run time, if one is
   * configured.
   */
  public Optional<String> catalogPassword() {
    if (passwordEnv.isPresent()) {
      String value = System.getenv(passwordEnv.get());
      if (value == null) {
        throw new LakeforgeException(
            String.format(
                "The catalog password variable %s is not set. Export it before running Lakeforge.",
                passwordEnv.get()));
      }
      return Optional.of(value);
    }
    if (passwordFile.isPresent()) {
      try {
        return Optional.of(Files.readAllLines(Path.of(passwordFile.get())).get(0).trim());
      } catch (IOException | IndexOutOfBoundsException e) {
        throw new LakeforgeException(
            String.format(
                "Cannot read the catalog password file %s (%s). Check catalog.password-file.",
                passwordFile.get(), e.getClass().getSimpleName()));
      }
    }
    return Optional.empty();
  }

  /** The Spark conf entries that carry this platform (no secrets). */
  public Map<String, String> sparkConf() {
    Map<String, String> conf = new LinkedHashMap<>();
    conf.put(HOME, home.toString());
    conf.put(WAREHOUSE, warehouse);
    conf.put(CATALOG_URL, catalogUrl);
    catalogUser.ifPresent(u -> conf.put(CATALOG_USER, u));
    passwordEnv.ifPresent(p -> conf.put(PASSWORD_ENV, p));
    passwordFile.ifPresent(p -> conf.put(PASSWORD_FILE, p));
    conf.put(ICEBERG_CATALOG, icebergCatalog);
    conf.put(MODEL_STORE, modelStore);
    return conf;
  }

  private static Optional<String> opt(SparkSession spark, String key) {
    return spark.conf().contains(key) ? Optional.of(spark.conf().get(key)) : Optional.empty();
  }

  private static String stripTrailingSlash(String s) {
    return s.endsWith("/") && s.length() > 1 ? s.substring(0, s.length() - 1) : s;
  }
}
