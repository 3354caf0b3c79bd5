package dev.lakeforge.cli;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.ModelRegistry;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.lakehouse.Lakehouse;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code lakeforge} command: global options and the subcommands. The session is built lazily
 * from the global options, once, by {@link SessionFactory}; on a cluster it is the one the platform
 * gives.
 */
@Command(
    name = "lakeforge",
    mixinStandardHelpOptions = true,
    versionProvider = LakeforgeCli.Version.class,
    description = "Lakehouse tables, features and batch inference on Spark.",
    subcommands = {
      TablesCommand.class,
      FeaturesCommand.class,
      SqlCommand.class,
      ModelsCommand.class,
      InferCommand.class,
      CatalogCommand.class,
      QuickstartCommand.class,
      CommandLine.HelpCommand.class
    })
public final class LakeforgeCli {
  /** Exit code of a command that failed (bad spec, missing table, failed job). */
  public static final int EXIT_FAILED = 1;

  /** Exit code of a usage error (unknown option, missing argument). */
  public static final int EXIT_USAGE = 2;

  @Option(
      names = "--home",
      scope = ScopeType.INHERIT,
      paramLabel = "DIR",
      description =
          "Where the embedded warehouse and catalog live (default: $LAKEFORGE_HOME, else ./lakeforge-data).")
  Path home;

  @Option(
      names = "--conf",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "Platform config (default: conf/lakeforge.yaml when present).")
  Path conf;

  @Option(
      names = "--spark-conf",
      scope = ScopeType.INHERIT,
      paramLabel = "KEY=VALUE",
      description = {
        "A Spark setting; repeatable. Wins over the platform config.",
        "Security settings (spark.lakeforge.*, spark.sql.extensions, spark.sql.catalog.*) need ADMIN."
      })
  Map<String, String> sparkConf = new LinkedHashMap<>();

  @Option(
      names = "--as",
      scope = ScopeType.INHERIT,
      paramLabel = "PRINCIPAL",
      description = {
        "Act as this principal (default: $LAKEFORGE_PRINCIPAL, else yourself: your Kerberos or OS user).",
        "Needs IMPERSONATE on principal:PRINCIPAL; both names go to the audit log."
      })
  String as;

  private final Supplier<Principal> identity;
  private PlatformConfig config;
  private SparkSession spark;
  private Principal principal;
  private Optional<String> previousPrincipal = Optional.empty();
  private Optional<String> previousActor = Optional.empty();

  /** A CLI whose commands are authenticated as this process's {@link Identity}. */
  public LakeforgeCli() {
    this(Identity::current);
  }

  /**
   * A CLI authenticated as {@code identity}: for tests in this package only, which need an actor
   * that is not the OS user running them. Production code has no way to reach it.
   */
  LakeforgeCli(Supplier<Principal> identity) {
    this.identity = Objects.requireNonNull(identity, "identity is null");
  }

  /** Runs the CLI with {@code args}, printing results to {@code out} and errors to {@code err}. */
  public static int execute(String[] args, PrintStream out, PrintStream err) {
    return execute(new LakeforgeCli(), args, out, err);
  }

  /** {@link #execute(String[], PrintStream, PrintStream)} authenticated as {@code identity}. */
  static int execute(Principal identity, String[] args, PrintStream out, PrintStream err) {
    return execute(new LakeforgeCli(() -> identity), args, out, err);
  }

  private static int execute(LakeforgeCli root, String[] args, PrintStream out, PrintStream err) {
    CommandLine cli = new CommandLine(root);
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine.getErr().println(ErrorMessages.describe(e));
          return EXIT_FAILED;
        });
    cli.setParameterExceptionHandler(
        (e, args2) -> {
          PrintWriter w = e.getCommandLine().getErr();
          w.println("error: " + e.getMessage());
          w.println(
              "Run '"
                  + e.getCommandLine().getCommandSpec().qualifiedName()
                  + " --help' for usage.");
          return EXIT_USAGE;
        });
    try {
      return cli.execute(args);
    } finally {
      root.restoreSession();
    }
  }

  /**
   * Gives a session that outlives the command (a notebook's, or one reused in-process) its own
   * principal and actor back, so the {@code --as} of this command does not stick to later work on
   * it.
   */
  private void restoreSession() {
    if (spark != null) {
      restore(Principal.SPARK_CONF, previousPrincipal);
      restore(Principal.ACTOR_SPARK_CONF, previousActor);
    }
  }

  private void restore(String key, Optional<String> previous) {
    previous.ifPresentOrElse(v -> spark.conf().set(key, v), () -> spark.conf().unset(key));
  }

  /**
   * The platform config: {@code --conf}, else {@code conf/lakeforge.yaml} when present, else the
   * defaults.
   */
  PlatformConfig config() {
    if (config == null) {
      config = PlatformConfig.loadOrDefault(Optional.ofNullable(conf));
    }
    return config;
  }

  /**
   * The home directory: {@code --home}, else {@code $LAKEFORGE_HOME}, else {@code
   * ./lakeforge-data}.
   */
  Path home() {
    if (home != null) {
      return home;
    }
    String env = System.getenv(PlatformConfig.HOME_ENV);
    return Path.of(env != null && !env.isBlank() ? env : PlatformConfig.HOME_DEFAULT);
  }

  /**
   * The folder of table specs: the config's {@code table-specs}, relative to the config file; else
   * conf/tables.
   */
  Path tableSpecs() {
    return confFolder().resolve(config().tableSpecs().orElse("tables"));
  }

  /** The folder of the platform config file ({@code --conf} or the default), else conf. */
  Path confFolder() {
    Optional<Path> file =
        conf != null
            ? Optional.of(conf)
            : Optional.of(Path.of(PlatformConfig.CONF_DEFAULT)).filter(p -> p.toFile().isFile());
    return file.map(Path::toAbsolutePath).map(Path::getParent).orElse(Path.of("conf"));
  }

  /** The authenticated identity running the command. */
  Principal identity() {
    return identity.get();
  }

  /**
   * Who runs the command, resolved once: the principal named by {@code --as}, else by {@value
   * Principal#ENV}, verified with {@link AccessControl#actAs} against the {@link #identity()}; else
   * the identity itself.
   */
  Principal principal() {
    if (principal == null) {
      Principal actor = identity();
      Optional<String> requested =
          Optional.ofNullable(as)
              .or(() -> Optional.ofNullable(System.getenv(Principal.ENV)))
              .map(String::trim)
              .filter(n -> !n.isEmpty());
      principal =
          requested.isEmpty() || requested.get().equals(actor.name())
              ? actor
              : new AccessControl(catalog()).actAs(actor, requested.get());
    }
    return principal;
  }

  /** The platform: the config resolved for the home. */
  Platform platform() {
    return Platform.resolve(config(), home());
  }

  /**
   * Hadoop settings for file systems used without Spark (the model store): the running session's,
   * else the {@code spark.hadoop.*} entries of the platform config and {@code --spark-conf}.
   */
  org.apache.hadoop.conf.Configuration hadoopConf() {
    if (spark != null) {
      return spark.sparkContext().hadoopConfiguration();
    }
    org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
    Map<String, String> all = new LinkedHashMap<>(config().spark().conf());
    all.putAll(sparkConf);
    all.forEach(
        (k, v) -> {
          if (k.startsWith("spark.hadoop.")) {
            conf.set(k.substring("spark.hadoop.".length()), v);
          }
        });
    return conf;
  }

  /** The model registry on the platform's model store. */
  ModelRegistry models() {
    return ModelRegistry.of(catalog(), platform(), hadoopConf());
  }

  /** The catalog database (no Spark needed). */
  CatalogDatabase catalog() {
    return CatalogDatabase.of(platform());
  }

  private Lakehouse lakehouse;

  /** The session, built on first use. */
  SparkSession spark() {
    if (spark == null) {
      for (String key : sparkConf.keySet()) {
        if (!key.startsWith("spark.")) {
          throw new SpecException(
              String.format(
                  "--spark-conf %s=...: '%s' is not a Spark setting; Spark settings start with 'spark.'.",
                  key, key));
        }
      }
      requireAdminForSecuritySettings();
      Principal who = principal();
      spark = SessionFactory.getOrCreate(config(), platform(), sparkConf);
      previousPrincipal = Optional.ofNullable(spark.conf().get(Principal.SPARK_CONF, null));
      previousActor = Optional.ofNullable(spark.conf().get(Principal.ACTOR_SPARK_CONF, null));
      spark.conf().set(Principal.SPARK_CONF, who.name());
      spark.conf().set(Principal.ACTOR_SPARK_CONF, who.actor());
      // attaches the registered Delta tables, so SQL finds them by name
      lakehouse = Lakehouse.open(spark);
    }
    return spark;
  }

  /** The lakehouse of {@link #spark()}, opened with it. */
  Lakehouse lakehouse() {
    spark();
    return lakehouse;
  }

  /**
   * Whether a Spark setting decides who is checked against which grants: the platform's keys (the
   * catalog the checks read, the principal), the SQL extensions that enforce them, and the
   * catalogs.
   */
  static boolean securitySetting(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.startsWith("spark.lakeforge.")
        || k.equals("spark.sql.extensions")
        || k.startsWith("spark.sql.catalog.");
  }

  /**
   * Refuses {@code --spark-conf} security settings unless the identity is an admin of the catalog
   * the platform config names (not one the overrides would name).
   */
  private void requireAdminForSecuritySettings() {
    List<String> keys = sparkConf.keySet().stream().filter(LakeforgeCli::securitySetting).toList();
    if (keys.isEmpty()) {
      return;
    }
    Principal actor = identity();
    try {
      new AccessControl(catalog()).require(actor, Privilege.ADMIN, "*");
    } catch (AccessDeniedException e) {
      throw new AccessDeniedException(
          String.format(
              "--spark-conf %s=... is refused: %s is a security setting and only an admin may"
                  + " override it, but %s does not hold ADMIN on * in the catalog %s. Security"
                  + " settings come from the platform config: set them there (--conf FILE, default"
                  + " %s).",
              keys.get(0),
              keys.get(0),
              actor,
              platform().catalogUrl(),
              PlatformConfig.CONF_DEFAULT));
    }
  }

  /** The version in the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = LakeforgeCli.class.getPackage().getImplementationVersion();
      return new String[] {"lakeforge " + (v == null ? "(development build)" : v)};
    }
  }

  /** Looks up the root command object from any subcommand. */
  static LakeforgeCli root(CommandLine.Model.CommandSpec spec) {
    return (LakeforgeCli) spec.root().userObject();
  }
}
