package dev.lakeforge.core;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The platform config ({@code conf/lakeforge.yaml}): where the warehouse and catalog live and which
 * Spark settings to add. Every field is optional; the defaults make the embedded mode (local Spark,
 * a warehouse folder and a SQLite catalog inside the home directory). Secrets are never written
 * here: the catalog password is named by an environment variable or a file and resolved at run
 * time.
 *
 * @param spark Spark settings added when the platform has not set them already
 * @param warehouse warehouse root (a local path or {@code s3a://bucket/prefix}); default {@code
 *     <home>/warehouse}
 * @param catalog the catalog database; default a SQLite file {@code <home>/catalog.db}
 * @param iceberg the Iceberg catalog's name in Spark SQL
 * @param tableSpecs folder of table specs, relative to this file; default {@code tables}
 * @param modelStore where registered model artifacts are kept (a local path or {@code
 *     s3a://bucket/prefix}); default {@code <home>/models}
 */
public record PlatformConfig(
    @JsonProperty("spark") SparkSection spark,
    @JsonProperty("warehouse") Optional<String> warehouse,
    @JsonProperty("catalog") CatalogSection catalog,
    @JsonProperty("iceberg") IcebergSection iceberg,
    @JsonProperty("table-specs") Optional<String> tableSpecs,
    @JsonProperty("model-store") Optional<String> modelStore) {

  /** Environment variable naming the home directory when {@code --home} is not given. */
  public static final String HOME_ENV = "LAKEFORGE_HOME";

  /** Home directory when neither {@code --home} nor {@value #HOME_ENV} is given. */
  public static final String HOME_DEFAULT = "lakeforge-data";

  /** Platform config read when {@code --conf} is not given and the file exists. */
  public static final String CONF_DEFAULT = "conf/lakeforge.yaml";

  /** Name of the Iceberg catalog in Spark SQL by default. */
  public static final String ICEBERG_CATALOG_DEFAULT = "iceberg";

  /** Spark master of the embedded mode. */
  public static final String MASTER_DEFAULT = "local[*]";

  public PlatformConfig {
    spark = spark == null ? new SparkSection(Optional.empty(), Map.of()) : spark;
    warehouse = warehouse == null ? Optional.empty() : warehouse;
    catalog = catalog == null ? CatalogSection.EMBEDDED : catalog;
    iceberg = iceberg == null ? new IcebergSection(Optional.empty()) : iceberg;
    tableSpecs = tableSpecs == null ? Optional.empty() : tableSpecs;
    modelStore = modelStore == null ? Optional.empty() : modelStore;
  }

  /** The config with every default: the embedded mode. */
  public static PlatformConfig defaults() {
    return new PlatformConfig(null, null, null, null, null, null);
  }

  /** Reads a platform config file strictly (unknown keys are errors). */
  public static PlatformConfig load(Path file) {
    return YamlSpecReader.read(file, PlatformConfig.class, "platform config");
  }

  /**
   * Loads {@code explicit} if given, else {@value #CONF_DEFAULT} if it exists in the working
   * directory, else the defaults.
   */
  public static PlatformConfig loadOrDefault(Optional<Path> explicit) {
    if (explicit.isPresent()) {
      return load(explicit.get());
    }
    Path fallback = Path.of(CONF_DEFAULT);
    return Files.isRegularFile(fallback) ? load(fallback) : defaults();
  }

  /** Spark settings. */
  public record SparkSection(
      @JsonProperty("master") Optional<String> master,
      @JsonProperty("conf") Map<String, String> conf) {
    public SparkSection {
      master = master == null ? Optional.empty() : master;
      conf = conf == null ? Map.of() : Map.copyOf(new TreeMap<>(conf));
      for (String key : conf.keySet()) {
        if (!key.startsWith("spark.")) {
          throw new SpecException(
              String.format(
                  "spark.conf key '%s' is not a Spark setting: Spark settings start with 'spark.'.",
                  key));
        }
      }
    }
  }

  /**
   * The catalog database.
   *
   * @param url JDBC URL ({@code jdbc:sqlite:...} or {@code jdbc:postgresql://...}); default the
   *     home's SQLite file
   * @param user database user, if the database needs one
   * @param passwordEnv name of the environment variable holding the password
   * @param passwordFile file holding the password (first line)
   */
  public record CatalogSection(
      @JsonProperty("url") Optional<String> url,
      @JsonProperty("user") Optional<String> user,
      @JsonProperty("password-env") Optional<String> passwordEnv,
      @JsonProperty("password-file") Optional<String> passwordFile) {
    static final CatalogSection EMBEDDED =
        new CatalogSection(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

    public CatalogSection {
      url = url == null ? Optional.empty() : url;
      user = user == null ? Optional.empty() : user;
      passwordEnv = passwordEnv == null ? Optional.empty() : passwordEnv;
      passwordFile = passwordFile == null ? Optional.empty() : passwordFile;
      url.ifPresent(
          u -> {
            if (!u.startsWith("jdbc:sqlite:") && !u.startsWith("jdbc:postgresql:")) {
              throw new SpecException(
                  String.format(
                      "catalog.url '%s' is not supported: use jdbc:sqlite:/path/file.db or"
                          + " jdbc:postgresql://host:port/database.",
                      u));
            }
            if (u.contains("password=")) {
              throw new SpecException(
                  "catalog.url contains a password: secrets never go into config files. Remove it and set"
                      + " catalog.password-env or catalog.password-file instead.");
            }
          });
      if (passwordEnv.isPresent() && passwordFile.isPresent()) {
        throw new SpecException(
            "catalog sets both password-env and password-file: keep one of them.");
      }
    }
  }

  /** The Iceberg catalog. */
  public record IcebergSection(@JsonProperty("catalog-name") Optional<String> catalogName) {
    public IcebergSection {
      catalogName = catalogName == null ? Optional.empty() : catalogName;
      catalogName.ifPresent(
          n -> {
            if (!n.matches("[a-z_][a-z0-9_]*") || n.equals("spark_catalog")) {
              throw new SpecException(
                  String.format(
                      "iceberg.catalog-name '%s' is invalid: use a lower-case identifier other than"
                          + " spark_catalog (Delta owns spark_catalog).",
                      n));
            }
          });
    }

    public String name() {
      return catalogName.orElse(ICEBERG_CATALOG_DEFAULT);
    }
  }
}
