package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Grants of privileges on objects to principals and roles, and the checks every command makes
 * before it reads or writes. Every decision, allowed or denied, is written to the audit log. A
 * check reads the grants with plain reads (no write lock, so it never waits for a slow writer's
 * lock to read) and then appends its audit rows in one short transaction of their own. A fresh
 * catalog has no principals; the first authenticated {@link Identity} to be checked becomes its
 * admin ({@code ADMIN} on {@code *}), which is how an embedded home bootstraps. An impersonated
 * name never bootstraps: the actor behind it does.
 *
 * <p>Objects: {@code *}, {@code namespace:<ns>} (every table in it), {@code table:<ns>.<table>},
 * {@code model:<name>}, {@code model:*}, {@code principal:<name>} and {@code principal:*} (for
 * {@code IMPERSONATE}).
 *
 * <p>Impersonation works like Hadoop proxy users: an actor holding {@code IMPERSONATE} on {@code
 * principal:<name>} (or {@code principal:*}, or {@code ADMIN}) may act as {@code <name>}, with
 * {@code <name>}'s privileges. {@link #actAs} verifies it; {@link #require} refuses a {@link
 * Principal} whose actor may not act as it, however it was built.
 */
public final class AccessControl {
  /** How long a successful impersonation check is remembered in this JVM (denials never are). */
  public static final Duration IMPERSONATION_CACHE_TTL = Duration.ofSeconds(30);

  private static final String AUDIT_IMPERSONATE = "access.impersonate";
  private static final Pattern OBJECT =
      Pattern.compile(
          "\\*|namespace:[a-z_][a-z0-9_]*|table:[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*|model:(\\*|[a-z][a-z0-9_-]*)"
              + "|principal:(\\*|[A-Za-z0-9._@-]{1,255})");

  /** Verified (catalog, actor, principal) triples and when each verification expires (nanoTime). */
  private static final Map<List<String>, Long> VERIFIED = new ConcurrentHashMap<>();

  private final CatalogDatabase db;

  public AccessControl(CatalogDatabase db) {
    this.db = Objects.requireNonNull(db, "db is null");
  }

  /** The object name of a table. */
  public static String table(TableName t) {
    return "table:" + t;
  }

  /** The object name of a model. */
  public static String model(String name) {
    return "model:" + name;
  }

  /** The object name of a principal, on which {@code IMPERSONATE} is granted. */
  public static String principal(String name) {
    return "principal:" + new Principal(name).name();
  }

  /** Checks an object name and returns it. */
  public static String object(String text) {
    String t = text == null ? "" : text.trim();
    if (!OBJECT.matcher(t).matches()) {
      throw new SpecException(
          String.format(
              "Object '%s' is not valid: use *, namespace:<ns>, table:<ns>.<table>, model:<name>, model:*,"
                  + " principal:<name> or principal:*.",
              text));
    }
    return t;
  }

  /**
   * Allows the action or throws {@link AccessDeniedException} naming principal, privilege and
   * object; audits both. When {@code who} is impersonated, its actor must also hold {@code
   * IMPERSONATE} on it (checked as in {@link #sessionPrincipal}, remembered for {@link
   * #IMPERSONATION_CACHE_TTL}).
   */
  public void require(Principal who, Privilege privilege, String object) {
    boolean mayImpersonate = !who.impersonated() || verified(who);
    Principal actor = actorOf(who);
    String impersonated = principal(who.name());
    CatalogDatabase.Work<Decision> decide =
        c -> {
          if (!mayImpersonate && !holds(c, actor, Privilege.IMPERSONATE, impersonated)) {
            return Decision.NOT_IMPERSONATED;
          }
          return holds(c, who, privilege, object) ? Decision.ALLOWED : Decision.DENIED;
        };
    // The decision is a plain read; only its audit rows take the write lock, briefly.
    Decision decision =
        db.readThenWrite(
            "check " + privilege + " on " + object,
            c -> bootstrapped(c) ? decide.run(c) : null,
            (c, found) -> {
              Decision d = found;
              if (d == null) { // a fresh catalog: the first actor checked becomes its admin
                bootstrap(c, actor);
                d = decide.run(c);
              }
              if (!mayImpersonate) {
                auditImpersonation(c, who, d != Decision.NOT_IMPERSONATED);
              }
              if (d != Decision.NOT_IMPERSONATED) {
                AuditLog.append(
                    c,
                    who,
                    "access." + privilege.name().toLowerCase(java.util.Locale.ROOT),
                    object,
                    d == Decision.ALLOWED ? AuditLog.ALLOWED : AuditLog.DENIED,
                    who.impersonated() ? "actor " + who.actor() : null);
              }
              return d;
            });
    if (decision == Decision.NOT_IMPERSONATED) {
      throw impersonationDenied(who);
    }
    if (who.impersonated() && !mayImpersonate) {
      remember(who);
    }
    if (decision == Decision.DENIED) {
      throw new AccessDeniedException(
          String.format(
              "Access denied: principal %s does not hold %s on %s. An admin can grant it with:"
                  + " lakeforge catalog grant %s %s %s",
              who, privilege, object, privilege, object, who));
    }
  }

  private enum Decision {
    ALLOWED,
    DENIED,
    NOT_IMPERSONATED
  }

  /**
   * Lets the authenticated {@code actor} act as the principal {@code requested}: returns {@code new
   * Principal(requested, actor.name())} when the actor holds {@code IMPERSONATE} on {@code
   * principal:<requested>} (directly, through a role, through {@code principal:*}, or as {@code
   * ADMIN}), else throws {@link AccessDeniedException} naming actor, privilege, object and the
   * grant that fixes it. Both outcomes are audited as {@code access.impersonate} under the
   * requested name, with the actor in the detail. Requesting {@code actor} itself needs nothing and
   * writes nothing.
   *
   * @param actor the authenticated identity ({@link Identity#current()}), acting as itself
   * @param requested the name to act as, e.g. from {@code --as}
   */
  public Principal actAs(Principal actor, String requested) {
    Objects.requireNonNull(actor, "actor is null");
    if (actor.impersonated()) {
      throw new IllegalArgumentException(
          String.format(
              "actAs needs the authenticated identity, not principal %s impersonated by %s: pass"
                  + " new Principal(\"%s\").",
              actor.name(), actor.actor(), actor.actor()));
    }
    Principal target = new Principal(requested == null ? "" : requested.trim(), actor.name());
    if (!target.impersonated()) {
      return actor;
    }
    String object = principal(target.name());
    boolean ok =
        db.readThenWrite(
            "check IMPERSONATE on " + object,
            c -> bootstrapped(c) ? holds(c, actor, Privilege.IMPERSONATE, object) : null,
            (c, found) -> {
              Boolean allowed = found;
              if (allowed == null) { // a fresh catalog: the actor becomes its admin
                bootstrap(c, actor);
                allowed = holds(c, actor, Privilege.IMPERSONATE, object);
              }
              auditImpersonation(c, target, allowed);
              return allowed;
            });
    if (!ok) {
      throw impersonationDenied(target);
    }
    remember(target);
    return target;
  }

  /**
   * The verified effective principal of a session or command in this process: the {@link Identity}
   * itself when {@code requestedName} is null, blank or the identity's own name, else {@link #actAs
   * actAs(Identity.current(), requestedName)}. Meant for code that runs per query (a Spark session
   * extension reading {@value Principal#SPARK_CONF}): a successful verification of an (actor, name)
   * pair on a catalog is remembered in this JVM for {@link #IMPERSONATION_CACHE_TTL} (30 s) and not
   * audited again meanwhile; a revoke in this JVM forgets them all, one in another process takes
   * effect within that time. Denials are never remembered: each one is checked and audited.
   *
   * @param db the catalog holding the grants: the platform's, never one named by the session's own
   *     settings when those can be changed by the user of the session
   * @param requestedName the name the session asks to run as, or null
   * @throws AccessDeniedException when the identity may not act as {@code requestedName}
   */
  public static Principal sessionPrincipal(CatalogDatabase db, String requestedName) {
    Principal identity = Identity.current();
    if (requestedName == null || requestedName.isBlank()) {
      return identity;
    }
    Principal target = new Principal(requestedName.trim(), identity.name());
    AccessControl access = new AccessControl(db);
    return target.impersonated() && access.verified(target)
        ? target
        : access.actAs(identity, requestedName);
  }

  /** Audits, in {@code c}, whether {@code who}'s actor may act as {@code who}. */
  private static void auditImpersonation(Connection c, Principal who, boolean ok)
      throws SQLException {
    AuditLog.append(
        c,
        who,
        AUDIT_IMPERSONATE,
        principal(who.name()),
        ok ? AuditLog.ALLOWED : AuditLog.DENIED,
        "actor " + who.actor() + (ok ? " acts as " : " may not act as ") + who.name());
  }

  private static AccessDeniedException impersonationDenied(Principal who) {
    String object = principal(who.name());
    return new AccessDeniedException(
        String.format(
            "Access denied: %s may not act as %s: %s does not hold IMPERSONATE on %s. An admin can"
                + " grant it with: lakeforge catalog grant IMPERSONATE %s %s",
            who.actor(), who.name(), who.actor(), object, object, who.actor()));
  }

  private static Principal actorOf(Principal who) {
    return new Principal(who.actor());
  }

  private List<String> cacheKey(Principal who) {
    return List.of(db.url(), who.actor(), who.name());
  }

  private boolean verified(Principal who) {
    Long until = VERIFIED.get(cacheKey(who));
    return until != null && System.nanoTime() - until < 0;
  }

  private void remember(Principal who) {
    VERIFIED.put(cacheKey(who), System.nanoTime() + IMPERSONATION_CACHE_TTL.toNanos());
  }

  /**
   * Whether {@code who} holds {@code privilege} on {@code object}, directly, through a role, or
   * through a wider object.
   */
  public boolean holds(Principal who, Privilege privilege, String object) {
    return db.read("read grants", c -> holds(c, who, privilege, object));
  }

  private static boolean holds(Connection c, Principal who, Privilege wanted, String object)
      throws SQLException {
    List<String> objects = new ArrayList<>(List.of(object, "*"));
    if (object.startsWith("table:")) {
      objects.add("namespace:" + TableName.parse(object.substring("table:".length())).namespace());
    } else if (object.startsWith("model:")) {
      objects.add("model:*");
    } else if (object.startsWith("principal:")) {
      objects.add("principal:*");
    }
    String in = String.join(", ", java.util.Collections.nCopies(objects.size(), "?"));
    String sql =
        "SELECT g.privilege FROM grants g WHERE g.object IN ("
            + in
            + ") AND ("
            + " (g.grantee_kind = 'principal' AND g.grantee = ?)"
            + " OR (g.grantee_kind = 'role' AND g.grantee IN (SELECT role FROM role_members WHERE principal = ?)))";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      for (String o : objects) {
        ps.setString(i++, o);
      }
      ps.setString(i++, who.name());
      ps.setString(i, who.name());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (Privilege.valueOf(rs.getString(1)).covers(wanted)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** Whether the catalog has its admin already (a plain read). */
  private static boolean bootstrapped(Connection c) throws SQLException {
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT value FROM catalog_settings WHERE name = 'bootstrap-admin'");
        ResultSet rs = ps.executeQuery()) {
      return rs.next();
    }
  }

  /**
   * On a catalog without an admin, makes {@code who} (an actor, never an impersonated name) its
   * admin, inside the caller's transaction; the first one wins under concurrency.
   */
  private static void bootstrap(Connection c, Principal who) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO catalog_settings (name, value) VALUES ('bootstrap-admin', ?) ON CONFLICT (name) DO NOTHING")) {
      ps.setString(1, who.name());
      if (ps.executeUpdate() == 0) {
        return; // another process bootstrapped first
      }
    }
    addPrincipal(c, who, who);
    insertGrant(c, Privilege.ADMIN, "*", "principal", who.name(), who);
    AuditLog.append(
        c,
        who,
        "catalog.bootstrap",
        "*",
        AuditLog.DONE,
        who + " created the catalog and is its admin");
  }

  /**
   * Grants {@code privilege} on {@code object} to a principal or role; needs ADMIN. {@code ADMIN}
   * goes on {@code *} only, {@code IMPERSONATE} on {@code principal:} objects only (and nothing
   * else on them); a table or model named must be in the catalog.
   */
  public void grant(
      Principal by, Privilege privilege, String object, String grantee, boolean role) {
    String obj = object(object);
    if (privilege == Privilege.ADMIN && !obj.equals("*")) {
      throw new SpecException(
          "ADMIN is granted on '*' only: lakeforge catalog grant ADMIN '*' <principal>.");
    }
    if (privilege == Privilege.IMPERSONATE && !obj.startsWith("principal:")) {
      throw new SpecException(
          String.format(
              "IMPERSONATE is granted on principal:<name> or principal:* only, not on %s: lakeforge"
                  + " catalog grant IMPERSONATE principal:<name> <actor>.",
              obj));
    }
    if (privilege != Privilege.IMPERSONATE && obj.startsWith("principal:")) {
      throw new SpecException(
          String.format(
              "%s cannot be granted on %s: principal objects take IMPERSONATE only.",
              privilege, obj));
    }
    require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "grant " + privilege + " on " + obj,
        c -> {
          requireExists(c, privilege, obj);
          if (role) {
            requireRole(c, grantee);
          } else {
            addPrincipal(c, new Principal(grantee), by);
          }
          insertGrant(c, privilege, obj, role ? "role" : "principal", grantee, by);
          AuditLog.append(
              c,
              by,
              "catalog.grant",
              obj,
              AuditLog.DONE,
              privilege + " to " + (role ? "role " : "principal ") + grantee);
          return null;
        });
  }

  /** A grant on one table or model needs it in the catalog: a typo would grant nothing. */
  private static void requireExists(Connection c, Privilege privilege, String object)
      throws SQLException {
    if (object.startsWith("table:")) {
      String table = object.substring("table:".length());
      if (!exists(c, "SELECT 1 FROM datasets WHERE name = ?", table)) {
        throw new SpecException(
            String.format(
                "Cannot grant %s on %s: the catalog has no table %s. Create it first with lakeforge"
                    + " tables apply <its spec>, or grant on namespace:%s.",
                privilege, object, table, TableName.parse(table).namespace()));
      }
    } else if (object.startsWith("model:") && !object.equals("model:*")) {
      String model = object.substring("model:".length());
      if (!exists(c, "SELECT 1 FROM models WHERE name = ?", model)) {
        throw new SpecException(
            String.format(
                "Cannot grant %s on %s: the catalog has no model %s. Register its first version with"
                    + " lakeforge models register %s --file <artifact> --flavor <onnx|torchscript>, or grant on model:*.",
                privilege, object, model, model));
      }
    }
  }

  private static boolean exists(Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * Revokes a grant; needs ADMIN. Revoking a grant that does not exist is an error naming it.
   * Impersonations verified in this JVM are forgotten, so the revoke takes effect here at once.
   */
  public void revoke(
      Principal by, Privilege privilege, String object, String grantee, boolean role) {
    String obj = object(object);
    require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "revoke " + privilege + " on " + obj,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "DELETE FROM grants WHERE privilege = ? AND object = ? AND grantee_kind = ? AND grantee = ?")) {
            ps.setString(1, privilege.name());
            ps.setString(2, obj);
            ps.setString(3, role ? "role" : "principal");
            ps.setString(4, grantee);
            if (ps.executeUpdate() == 0) {
              throw new SpecException(
                  String.format(
                      "No grant of %s on %s to %s %s to revoke.",
                      privilege, obj, role ? "role" : "principal", grantee));
            }
          }
          VERIFIED.keySet().removeIf(k -> k.get(0).equals(db.url()));
          AuditLog.append(
              c,
              by,
              "catalog.revoke",
              obj,
              AuditLog.DONE,
              privilege + " from " + (role ? "role " : "principal ") + grantee);
          return null;
        });
  }

  /** Creates a role (if new) and adds principals to it; needs ADMIN. */
  public void addToRole(Principal by, String role, List<Principal> members) {
    ModelRef.checkName("role", role);
    require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "add members to role " + role,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO roles (name, created_by, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
            ps.setString(1, role);
            ps.setString(2, by.name());
            ps.setString(3, Instant.now().toString());
            ps.executeUpdate();
          }
          for (Principal p : members) {
            addPrincipal(c, p, by);
            try (PreparedStatement ps =
                c.prepareStatement(
                    "INSERT INTO role_members (role, principal) VALUES (?, ?) ON CONFLICT (role, principal) DO NOTHING")) {
              ps.setString(1, role);
              ps.setString(2, p.name());
              ps.executeUpdate();
            }
            AuditLog.append(c, by, "catalog.role", "role:" + role, AuditLog.DONE, "added " + p);
          }
          return null;
        });
  }

  /** One grant as stored. */
  public record Grant(
      String privilege, String object, String granteeKind, String grantee, String grantedBy) {}

  /** Every grant, ordered by grantee and object; needs ADMIN. */
  public List<Grant> grants(Principal by) {
    require(by, Privilege.ADMIN, "*");
    return db.read(
        "list grants",
        c -> {
          List<Grant> out = new ArrayList<>();
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT privilege, object, grantee_kind, grantee, granted_by FROM grants"
                          + " ORDER BY grantee_kind, grantee, object, privilege");
              ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.add(
                  new Grant(
                      rs.getString(1),
                      rs.getString(2),
                      rs.getString(3),
                      rs.getString(4),
                      rs.getString(5)));
            }
          }
          return out;
        });
  }

  /** One principal known to the catalog. */
  public record PrincipalEntry(
      String name, String createdBy, String createdAt, List<String> roles) {}

  /** Every principal known to the catalog (granted something, or in a role); needs ADMIN. */
  public List<PrincipalEntry> principals(Principal by) {
    require(by, Privilege.ADMIN, "*");
    return db.read(
        "list principals",
        c -> {
          List<PrincipalEntry> out = new ArrayList<>();
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT name, created_by, created_at FROM principals ORDER BY name");
              ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.add(
                  new PrincipalEntry(
                      rs.getString(1), rs.getString(2), rs.getString(3), new ArrayList<>()));
            }
          }
          try (PreparedStatement ps =
                  c.prepareStatement("SELECT principal, role FROM role_members ORDER BY role");
              ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              String p = rs.getString(1);
              String role = rs.getString(2);
              out.stream().filter(e -> e.name().equals(p)).forEach(e -> e.roles().add(role));
            }
          }
          return out;
        });
  }

  /** Roles and their members; needs ADMIN. */
  public java.util.Map<String, List<String>> roles(Principal by) {
    require(by, Privilege.ADMIN, "*");
    return db.read(
        "list roles",
        c -> {
          java.util.Map<String, List<String>> out = new java.util.TreeMap<>();
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT r.name, m.principal FROM roles r LEFT JOIN role_members m ON m.role = r.name"
                          + " ORDER BY r.name, m.principal");
              ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              List<String> members = out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>());
              if (rs.getString(2) != null) {
                members.add(rs.getString(2));
              }
            }
          }
          return out;
        });
  }

  /** Fails naming the fix when {@code role} does not exist. */
  static void requireRole(Connection c, String role) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM roles WHERE name = ?")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SpecException(
              String.format(
                  "No role named '%s': create it with lakeforge catalog roles add %s <principal>...",
                  role, role));
        }
      }
    }
  }

  private static void addPrincipal(Connection c, Principal p, Principal by) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO principals (name, created_by, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
      ps.setString(1, p.name());
      ps.setString(2, by.name());
      ps.setString(3, Instant.now().toString());
      ps.executeUpdate();
    }
  }

  private static void insertGrant(
      Connection c, Privilege privilege, String object, String kind, String grantee, Principal by)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO grants (privilege, object, grantee_kind, grantee, granted_by, granted_at)"
                + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (privilege, object, grantee_kind, grantee) DO NOTHING")) {
      ps.setString(1, privilege.name());
      ps.setString(2, object);
      ps.setString(3, kind);
      ps.setString(4, grantee);
      ps.setString(5, by.name());
      ps.setString(6, Instant.now().toString());
      ps.executeUpdate();
    }
  }
}
