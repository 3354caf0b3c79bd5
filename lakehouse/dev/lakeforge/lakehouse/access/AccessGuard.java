package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.AuditLog;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.TableRegistry;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.SessionFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;

/**
 * Decides whether a plan may run in a session: finds what it needs ({@link PlanInspector}, or the
 * pre-analysis checks of {@link GuardedParser}) and requires each privilege of the session's
 * principal, auditing every decision. The first missing privilege stops the plan with an {@link
 * AccessDeniedException} naming principal, privilege, object and what in the statement needed it.
 * The catalog's own tables ({@code lakeforge.*}) are never writable through SQL, not even by an
 * admin.
 */
public final class AccessGuard {
  private static final ThreadLocal<Boolean> CHECKING = ThreadLocal.withInitial(() -> false);

  private AccessGuard() {}

  /** Checks the analysed {@code plan} of {@code spark}; throws if a privilege is missing. */
  public static void checkAnalysed(SparkSession spark, LogicalPlan plan) {
    if (skip()) {
      return;
    }
    guarded(spark, ctx -> PlanInspector.needs(plan, ctx.tables()));
  }

  /** Checks needs found before analysis (see {@link GuardedParser}). */
  static void checkParsed(
      SparkSession spark, java.util.function.Function<Context, List<Need>> find) {
    if (skip()) {
      return;
    }
    guarded(spark, find);
  }

  private static boolean skip() {
    return AccessScope.active() || CHECKING.get();
  }

  /** What a check needs to know about the session. */
  record Context(TableResolver tables, String icebergCatalog) {}

  private static void guarded(
      SparkSession spark, java.util.function.Function<Context, List<Need>> find) {
    CHECKING.set(true);
    try {
      Platform platform = platform(spark);
      // Most plans Spark analyses for itself (Delta replaying its log) need nothing: the catalog is
      // opened and the registry read only when a relation must be named or a privilege checked.
      CatalogDatabase[] db = new CatalogDatabase[1];
      java.util.function.Supplier<CatalogDatabase> catalog =
          () -> db[0] != null ? db[0] : (db[0] = CatalogDatabase.of(platform));
      TableResolver tables =
          new TableResolver(
              () -> new TableRegistry(catalog.get()).list(), platform.icebergCatalog());
      List<Need> needs = find.apply(new Context(tables, platform.icebergCatalog()));
      if (!needs.isEmpty()) {
        require(catalog.get(), principal(spark, catalog.get()), needs);
      }
    } finally {
      CHECKING.remove();
    }
  }

  /**
   * The principal a session runs as: the authenticated identity, or the principal it asks for in
   * {@value Principal#SPARK_CONF} when it holds IMPERSONATE on it (verified and audited).
   */
  static Principal principal(SparkSession spark) {
    return principal(spark, CatalogDatabase.of(platform(spark)));
  }

  /** {@link #principal(SparkSession)}, verified on the catalog {@code db} already opened. */
  static Principal principal(SparkSession spark, CatalogDatabase db) {
    return AccessControl.sessionPrincipal(db, spark.conf().get(Principal.SPARK_CONF, null));
  }

  /**
   * The platform a session was built for, read once per session: a later runtime change of the
   * {@code spark.lakeforge.*} settings (which SQL's SET refuses, but DataFrame code could make)
   * cannot point the checks at another catalog.
   */
  static Platform platform(SparkSession spark) {
    synchronized (PLATFORMS) {
      return PLATFORMS.computeIfAbsent(spark, k -> Platform.of(spark));
    }
  }

  private static final Map<Object, Platform> PLATFORMS = new java.util.WeakHashMap<>();

  private static void require(CatalogDatabase db, Principal who, List<Need> needs) {
    // One decision per object: MODIFY covers SELECT, and a need found twice is decided once.
    Map<String, Need> decided = new LinkedHashMap<>();
    for (Need n : needs) {
      Need before = decided.get(n.object());
      if (before == null || n.privilege().ordinal() > before.privilege().ordinal()) {
        decided.put(n.object(), n);
      }
    }
    AccessControl access = new AccessControl(db);
    for (Need n : decided.values()) {
      if (n.privilege() == Privilege.MODIFY
          && n.object().startsWith("table:" + SessionFactory.CATALOG_TABLES + ".")) {
        new AuditLog(db)
            .append(
                who,
                "access.modify",
                n.object(),
                AuditLog.DENIED,
                "catalog tables are read-only to SQL");
        throw new AccessDeniedException(
            String.format(
                "Access denied: %s is one of the catalog's own tables, which are read-only to SQL for"
                    + " every principal. Change the catalog with the lakeforge commands (models,"
                    + " catalog grant, ...).",
                n.object().substring("table:".length())));
      }
      try {
        access.require(who, n.privilege(), n.object());
      } catch (AccessDeniedException e) {
        throw new AccessDeniedException(
            e.getMessage() + " It is needed because the statement " + n.reason() + ".");
      }
    }
  }
}
