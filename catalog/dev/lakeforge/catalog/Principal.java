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

  /**
   * Environment variable requesting a principal to act as when {@code --as} is not given; like
   * {@code --as}, a request checked against the {@link Identity}'s {@code IMPERSONATE} grants.
   */
  public static final String ENV = "LAKEFORGE_PRINCIPAL";

  /**
   * Spark setting carrying the principal of the running command to the jobs. Anyone holding the
   * session can change it, so it is only a request: resolve it with {@link
   * AccessControl#sessionPrincipal}.
   */
  public static final String SPARK_CONF = "spark.lakeforge.principal";

  /**
   * Spark setting carrying the authenticated actor of the running command, for display and audit.
   * Never trusted for a decision: the actor is always this process's {@link Identity}.
   */
  public static final String ACTOR_SPARK_CONF = "spark.lakeforge.actor";

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
   * The principal requested by {@code explicit} (from {@code --as} or a session's {@value
   * #SPARK_CONF}), else by {@value #ENV}, else the {@link Identity} itself; its actor is always the
   * {@link Identity}. Nothing is verified here, but nothing needs to be: {@link
   * AccessControl#require} refuses an impersonated principal whose actor lacks {@code IMPERSONATE}
   * on it. {@link AccessControl#actAs} and {@link AccessControl#sessionPrincipal} verify up front.
   */
  public static Principal resolve(java.util.Optional<String> explicit) {
    Principal identity = Identity.current();
    java.util.Optional<String> requested =
        explicit
            .or(() -> java.util.Optional.ofNullable(System.getenv(ENV)))
            .map(String::trim)
            .filter(s -> !s.isEmpty());
    return requested.map(n -> new Principal(n, identity.name())).orElse(identity);
  }

  @Override
  public String toString() {
    return name;
  }
}
