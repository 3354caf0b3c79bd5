package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Who runs a command: a user or a service principal, and the authenticated identity acting as it.
 * The two differ only when the actor impersonates the principal (which needs an {@code IMPERSONATE}
 * grant). Privileges are the principal's; the audit log records both names. {@link #toString()} is
 * the name.
 *
 * @param name letters, digits and {@code . _ @ -}, e.g. {@code ann}, {@code svc-scoring@prod}
 * @param actor the authenticated identity behind the principal (same rules); equal to {@code name}
 *     unless impersonating
 */
public record Principal(String name, String actor) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,255}");

  /** Environment variable naming the principal when {@code --as} is not given. */
  public static final String ENV = "LAKEFORGE_PRINCIPAL";

  /** Spark setting carrying the principal of the running command to the jobs. */
  public static final String SPARK_CONF = "spark.lakeforge.principal";

  public Principal {
    check(name);
    check(actor);
  }

  /** A principal acting as itself. */
  public Principal(String name) {
    this(name, name);
  }

  /** Whether another identity acts as this principal. */
  public boolean impersonated() {
    return !name.equals(actor);
  }

  private static void check(String name) {
    Objects.requireNonNull(name, "name is null");
    if (!NAME.matcher(name).matches()) {
      throw new SpecException(
          String.format(
              "Principal name '%s' is invalid: use 1-255 letters, digits and . _ @ - (e.g. ann, svc-scoring).",
              name));
    }
  }

  /**
   * {@code explicit} (from {@code --as}) if given, else {@value #ENV}, else the operating-system
   * user.
   */
  public static Principal resolve(java.util.Optional<String> explicit) {
    if (explicit.isPresent()) {
      return new Principal(explicit.get());
    }
    String env = System.getenv(ENV);
    if (env != null && !env.isBlank()) {
      return new Principal(env.trim());
    }
    return new Principal(System.getProperty("user.name", "unknown"));
  }

  @Override
  public String toString() {
    return name;
  }
}
