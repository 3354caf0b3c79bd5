package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Grants of privileges on objects to principals and roles, and the checks every command makes
 * before it reads or writes. Every decision, allowed or denied, is written to the audit log. A
 * fresh catalog has no principals; the first principal to be checked becomes its admin ({@code
 * ADMIN} on {@code *}), which is how an embedded home bootstraps.
 *
 * <p>Objects: {@code *}, {@code namespace:<ns>} (every table in it), {@code table:<ns>.<table>},
 * {@code model:<name>}, {@code model:*}.
 */
public final class AccessControl {
  private static final Pattern OBJECT =
      Pattern.compile(
          "\\*|namespace:[a-z_][a-z0-9_]*|table:[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*|model:(\\*|[a-z][a-z0-9_-]*)");
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

  /** Checks an object name and returns it. */
  public static String object(String text) {
    String t = text == null ? "" : text.trim();
    if (!OBJECT.matcher(t).matches()) {
      throw new SpecException(
          String.format(
              "Object '%s' is not valid: use *, namespace:<ns>, table:<ns>.<table>, model:<name> or model:*.",
              text));
    }
    return t;
  }

  /**
   * Allows the action or throws {@link AccessDeniedException} naming principal, privilege and
   * object; audits both.
   */
  public void require(Principal who, Privilege privilege, String object) {
    boolean allowed =
        db.inTransaction(
            "check " + privilege + " on " + object,
            c -> {
              bootstrap(c, who);
              boolean ok = holds(c, who, privilege, object);
              AuditLog.append(
                  c,
                  who,
                  "access." + privilege.name().toLowerCase(java.util.Locale.ROOT),
                  object,
                  ok ? AuditLog.ALLOWED : AuditLog.DENIED,
                  null);
              return ok;
            });
    if (!allowed) {
      throw new AccessDeniedException(
          String.format(
              "Access denied: principal %s does not hold %s on %s. An admin can grant it with: lakeforge catalog"
                  + " grant %s %s %s",
              who, privilege, object, privilege, object, who));
    }
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

  /**
   * On a catalog without an admin, makes {@code who} its admin (the first one wins under
   * concurrency).
   */
  private static void bootstrap(Connection c, Principal who) throws SQLException {
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT value FROM catalog_settings WHERE name = 'bootstrap-admin'");
        ResultSet rs = ps.executeQuery()) {
      if (rs.next()) {
        return;
      }
    }
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

  /** Grants {@code privilege} on {@code object} to a principal or role; needs ADMIN. */
  public void grant(
      Principal by, Privilege privilege, String object, String grantee, boolean role) {
    String obj = object(object);
    if (privilege == Privilege.ADMIN && !obj.equals("*")) {
      throw new SpecException(
          "ADMIN is granted on '*' only: lakeforge catalog grant ADMIN '*' <principal>.");
    }
    require(by, Privilege.ADMIN, "*");
    db.inTransaction(
        "grant " + privilege + " on " + obj,
        c -> {
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

  /** Revokes a grant; needs ADMIN. Revoking a grant that does not exist is an error naming it. */
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

  private static void requireRole(Connection c, String role) throws SQLException {
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
