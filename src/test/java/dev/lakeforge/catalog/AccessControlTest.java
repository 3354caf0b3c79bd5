package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.testing.CatalogBackend;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Grants and checks, on SQLite and PostgreSQL: every privilege allowed and denied, each decision
 * audited.
 */
class AccessControlTest {
  private static final Principal ADMIN = new Principal("admin");
  private static final Principal ANN = new Principal("ann");
  @TempDir Path dir;

  /** Each privilege on an object it applies to. */
  static Stream<Arguments> privileges() {
    List<Arguments> out = new java.util.ArrayList<>();
    for (CatalogBackend b : CatalogBackend.values()) {
      out.add(Arguments.of(b, Privilege.SELECT, "table:shop.orders"));
      out.add(Arguments.of(b, Privilege.MODIFY, "table:shop.orders"));
      out.add(Arguments.of(b, Privilege.EXECUTE, "model:churn"));
      out.add(Arguments.of(b, Privilege.CREATE_VERSION, "model:churn"));
      out.add(Arguments.of(b, Privilege.PROMOTE, "model:churn"));
      out.add(Arguments.of(b, Privilege.ADMIN, "*"));
    }
    return out.stream();
  }

  /** A catalog with table shop.orders and model churn in it, and {@link #ADMIN} its admin. */
  private CatalogDatabase catalog(CatalogBackend backend) throws java.io.IOException {
    CatalogDatabase db = backend.open(dir);
    new AccessControl(db).require(ADMIN, Privilege.ADMIN, "*"); // bootstraps admin
    new TableRegistry(db)
        .put(
            new RegisteredTable(
                dev.lakeforge.core.TableName.parse("shop.orders"),
                "delta",
                dir.resolve("orders").toString(),
                "{}"),
            ADMIN);
    Path artifact = java.nio.file.Files.writeString(dir.resolve("churn.pt"), "model bytes");
    new ModelRegistry(db, dir.resolve("models"))
        .register(
            new ModelRegistry.Registration(
                "churn",
                artifact,
                ModelFlavor.TORCHSCRIPT,
                TestSignatures.xToY(),
                Optional.empty(),
                java.util.Map.of()),
            ADMIN);
    return db;
  }

  private static List<AuditLog.Entry> decisions(CatalogDatabase db, Principal who) {
    return new AuditLog(db)
            .read(new AuditLog.Filter(Optional.of(who.name()), Optional.empty(), Optional.empty()))
            .stream()
            .filter(e -> e.action().startsWith("access."))
            .toList();
  }

  @ParameterizedTest(name = "{0} {1} on {2}")
  @MethodSource("privileges")
  void eachPrivilegeIsDeniedThenAllowedOnceGrantedAndAudited(
      CatalogBackend backend, Privilege p, String object) throws Exception {
    CatalogDatabase db = catalog(backend);
    AccessControl access = new AccessControl(db);

    assertThatThrownBy(() -> access.require(ANN, p, object))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll(
            "ann", p.name(), object, "lakeforge catalog grant " + p + " " + object + " ann");
    access.grant(ADMIN, p, object, "ann", false);
    access.require(ANN, p, object);

    assertThat(decisions(db, ANN))
        .extracting(AuditLog.Entry::object, AuditLog.Entry::outcome)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(object, AuditLog.DENIED),
            org.assertj.core.groups.Tuple.tuple(object, AuditLog.ALLOWED));
    access.revoke(ADMIN, p, object, "ann", false);
    assertThat(access.holds(ANN, p, object)).isFalse();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void widerGrantsAndRolesCover(CatalogBackend backend) {
    CatalogDatabase db = backend.open(dir);
    AccessControl access = new AccessControl(db);
    access.require(ADMIN, Privilege.ADMIN, "*");
    assertThat(decisions(db, ADMIN))
        .singleElement()
        .extracting(AuditLog.Entry::outcome)
        .isEqualTo(AuditLog.ALLOWED);

    access.grant(ADMIN, Privilege.MODIFY, "namespace:shop", "ann", false);
    assertThat(access.holds(ANN, Privilege.MODIFY, "table:shop.orders")).isTrue();
    assertThat(access.holds(ANN, Privilege.SELECT, "table:shop.orders"))
        .as("MODIFY includes SELECT")
        .isTrue();
    assertThat(access.holds(ANN, Privilege.SELECT, "table:other.orders")).isFalse();
    assertThat(access.holds(ANN, Privilege.EXECUTE, "model:churn")).isFalse();

    Principal bob = new Principal("bob");
    access.addToRole(ADMIN, "scorers", List.of(bob));
    access.grant(ADMIN, Privilege.EXECUTE, "model:*", "scorers", true);
    assertThat(access.holds(bob, Privilege.EXECUTE, "model:churn")).isTrue();
    assertThat(access.holds(bob, Privilege.PROMOTE, "model:churn")).isFalse();
    assertThat(access.roles(ADMIN)).containsEntry("scorers", List.of("bob"));
    assertThat(access.grants(ADMIN))
        .extracting(AccessControl.Grant::grantee)
        .containsExactly("admin", "ann", "scorers");
    assertThat(access.holds(ADMIN, Privilege.PROMOTE, "model:churn"))
        .as("ADMIN covers everything")
        .isTrue();
    assertThat(access.principals(ADMIN))
        .extracting(AccessControl.PrincipalEntry::name, AccessControl.PrincipalEntry::roles)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("admin", List.of()),
            org.assertj.core.groups.Tuple.tuple("ann", List.of()),
            org.assertj.core.groups.Tuple.tuple("bob", List.of("scorers")));
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void badGrantsAreRefusedAndOnlyAdminsGrant(CatalogBackend backend) throws Exception {
    CatalogDatabase db = catalog(backend);
    AccessControl access = new AccessControl(db);
    assertThatThrownBy(() -> access.grant(ANN, Privilege.SELECT, "table:shop.orders", "ann", false))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("ann", "ADMIN", "*");
    assertThatThrownBy(() -> access.grant(ADMIN, Privilege.SELECT, "shop.orders", "ann", false))
        .hasMessageContainingAll("'shop.orders'", "table:<ns>.<table>");
    assertThatThrownBy(
            () -> access.grant(ADMIN, Privilege.ADMIN, "table:shop.orders", "ann", false))
        .hasMessageContaining("ADMIN is granted on '*' only");
    assertThatThrownBy(
            () -> access.grant(ADMIN, Privilege.SELECT, "table:shop.orders", "nobody", true))
        .hasMessageContainingAll("No role named 'nobody'");
    assertThatThrownBy(
            () -> access.revoke(ADMIN, Privilege.SELECT, "table:shop.orders", "ann", false))
        .hasMessageContainingAll("No grant of SELECT on table:shop.orders to principal ann");
    assertThatThrownBy(() -> Privilege.parse("write")).hasMessageContainingAll("'write'", "MODIFY");
    assertThat(access.grants(ADMIN))
        .extracting(AccessControl.Grant::grantee)
        .containsExactly("admin");
  }
}
