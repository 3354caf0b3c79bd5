package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Acting as another principal, on SQLite and PostgreSQL: allowed only with {@code IMPERSONATE} (or
 * {@code ADMIN}), audited under the requested name with the actor in the detail, never a way to
 * bootstrap or to borrow an admin's privileges; and the grants that make no sense are refused.
 */
class ImpersonationTest {
  private static final Principal BOSS = new Principal("lf-boss");
  private static final Principal OPS = new Principal("lf-ops");
  @TempDir Path dir;

  /** A catalog whose admin is {@link #BOSS}. */
  private static CatalogDatabase catalog(CatalogBackend backend, Path dir) {
    CatalogDatabase db = backend.open(dir);
    new AccessControl(db).require(BOSS, Privilege.ADMIN, "*");
    return db;
  }

  private static List<AuditLog.Entry> impersonations(CatalogDatabase db) {
    return new AuditLog(db)
            .read(
                new AuditLog.Filter(Optional.empty(), Optional.of("principal:"), Optional.empty()))
            .stream()
            .filter(e -> e.action().equals("access.impersonate"))
            .toList();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void actingAsAnotherNeedsImpersonateAndBothOutcomesAreAudited(CatalogBackend backend) {
    CatalogDatabase db = catalog(backend, dir);
    AccessControl access = new AccessControl(db);

    assertThatThrownBy(() -> access.actAs(OPS, "ann"))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessage(
            "Access denied: lf-ops may not act as ann: lf-ops does not hold IMPERSONATE on"
                + " principal:ann. An admin can grant it with: lakeforge catalog grant IMPERSONATE"
                + " principal:ann lf-ops");
    access.grant(BOSS, Privilege.IMPERSONATE, "principal:ann", OPS.name(), false);
    Principal ann = access.actAs(OPS, "ann");

    assertThat(ann).isEqualTo(new Principal("ann", "lf-ops"));
    assertThat(ann.impersonated()).isTrue();
    assertThat(impersonations(db))
        .extracting(AuditLog.Entry::principal, AuditLog.Entry::outcome, AuditLog.Entry::detail)
        .containsExactly(
            tuple("ann", AuditLog.DENIED, "actor lf-ops may not act as ann"),
            tuple("ann", AuditLog.ALLOWED, "actor lf-ops acts as ann"));
    assertThatThrownBy(() -> access.actAs(OPS, "bob"))
        .as("a grant on principal:ann is for ann only")
        .hasMessageContaining("principal:bob");
    assertThat(access.actAs(OPS, "lf-ops")).as("acting as yourself needs nothing").isEqualTo(OPS);
    assertThat(access.actAs(BOSS, "anyone"))
        .as("ADMIN covers IMPERSONATE")
        .isEqualTo(new Principal("anyone", "lf-boss"));
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void principalStarAndRolesCover(CatalogBackend backend) {
    CatalogDatabase db = catalog(backend, dir);
    AccessControl access = new AccessControl(db);
    access.addToRole(BOSS, "schedulers", List.of(OPS));
    access.grant(BOSS, Privilege.IMPERSONATE, "principal:*", "schedulers", true);

    assertThat(access.actAs(OPS, "svc-etl")).isEqualTo(new Principal("svc-etl", "lf-ops"));
    assertThat(access.holds(OPS, Privilege.IMPERSONATE, AccessControl.principal("ann"))).isTrue();
    assertThat(access.holds(OPS, Privilege.SELECT, "*"))
        .as("IMPERSONATE on principal:* is not a privilege on data")
        .isFalse();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void theActorBootstrapsAFreshCatalogNeverTheNameItActsAs(CatalogBackend backend) {
    CatalogDatabase db = backend.open(dir);
    AccessControl access = new AccessControl(db);

    Principal ann = access.actAs(OPS, "ann");

    assertThat(ann.actor()).isEqualTo("lf-ops");
    assertThat(access.holds(OPS, Privilege.ADMIN, "*")).isTrue();
    assertThat(access.holds(new Principal("ann"), Privilege.ADMIN, "*")).isFalse();
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .extracting(AuditLog.Entry::principal, AuditLog.Entry::action)
        .containsExactly(tuple("lf-ops", "catalog.bootstrap"), tuple("ann", "access.impersonate"));
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aForgedPrincipalDoesNotBorrowTheAdminsPrivileges(CatalogBackend backend) {
    CatalogDatabase db = catalog(backend, dir);
    AccessControl access = new AccessControl(db);
    Principal forged = new Principal(BOSS.name(), "eve");

    assertThatThrownBy(() -> access.require(forged, Privilege.ADMIN, "*"))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll(
            "eve may not act as lf-boss", "IMPERSONATE", "principal:lf-boss", "grant IMPERSONATE");
    assertThatThrownBy(() -> access.grant(forged, Privilege.ADMIN, "*", "eve", false))
        .isInstanceOf(AccessDeniedException.class);
    assertThat(access.holds(new Principal("eve"), Privilege.ADMIN, "*")).isFalse();
    assertThat(impersonations(db))
        .extracting(AuditLog.Entry::principal, AuditLog.Entry::outcome)
        .containsExactly(tuple("lf-boss", AuditLog.DENIED), tuple("lf-boss", AuditLog.DENIED));

    access.grant(BOSS, Privilege.IMPERSONATE, "principal:ann", "eve", false);
    access.grant(BOSS, Privilege.SELECT, "namespace:shop", "ann", false);
    access.require(new Principal("ann", "eve"), Privilege.SELECT, "table:shop.orders");
    assertThat(
            new AuditLog(db)
                .read(
                    new AuditLog.Filter(
                        Optional.of("ann"), Optional.of("table:shop.orders"), Optional.empty())))
        .extracting(AuditLog.Entry::action, AuditLog.Entry::outcome, AuditLog.Entry::detail)
        .containsExactly(tuple("access.select", AuditLog.ALLOWED, "actor eve"));
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void theSessionPrincipalIsVerifiedOnceAndARevokeTakesEffectAtOnce(CatalogBackend backend) {
    CatalogDatabase db = catalog(backend, dir);
    AccessControl access = new AccessControl(db);
    Principal me = Identity.current();

    assertThat(AccessControl.sessionPrincipal(db, null)).isEqualTo(me);
    assertThat(AccessControl.sessionPrincipal(db, " " + me.name() + " ")).isEqualTo(me);
    assertThatThrownBy(() -> AccessControl.sessionPrincipal(db, "lf-ann"))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll(me.name(), "IMPERSONATE", "principal:lf-ann");
    assertThatThrownBy(() -> AccessControl.sessionPrincipal(db, "lf-ann"))
        .as("denials are not remembered: checked and audited again")
        .isInstanceOf(AccessDeniedException.class);

    access.grant(BOSS, Privilege.IMPERSONATE, "principal:lf-ann", me.name(), false);
    for (int i = 0; i < 3; i++) {
      assertThat(AccessControl.sessionPrincipal(db, "lf-ann"))
          .isEqualTo(new Principal("lf-ann", me.name()));
    }
    assertThat(impersonations(db))
        .as("the verification is remembered, so it is audited once")
        .extracting(AuditLog.Entry::outcome)
        .containsExactly(AuditLog.DENIED, AuditLog.DENIED, AuditLog.ALLOWED);

    access.revoke(BOSS, Privilege.IMPERSONATE, "principal:lf-ann", me.name(), false);
    assertThatThrownBy(() -> AccessControl.sessionPrincipal(db, "lf-ann"))
        .isInstanceOf(AccessDeniedException.class);
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void grantsOnMissingTablesModelsAndMisplacedImpersonationsAreRefused(CatalogBackend backend) {
    CatalogDatabase db = catalog(backend, dir);
    AccessControl access = new AccessControl(db);

    assertThatThrownBy(
            () -> access.grant(BOSS, Privilege.SELECT, "table:shop.orders", "ann", false))
        .hasMessage(
            "Cannot grant SELECT on table:shop.orders: the catalog has no table shop.orders. Create"
                + " it first with lakeforge tables apply <its spec>, or grant on namespace:shop.");
    assertThatThrownBy(() -> access.grant(BOSS, Privilege.EXECUTE, "model:churn", "ann", false))
        .hasMessage(
            "Cannot grant EXECUTE on model:churn: the catalog has no model churn. Register its"
                + " first version with lakeforge models register churn --file <artifact> --flavor"
                + " <onnx|torchscript>, or grant on model:*.");
    assertThatThrownBy(
            () -> access.grant(BOSS, Privilege.IMPERSONATE, "namespace:shop", "ops", false))
        .hasMessage(
            "IMPERSONATE is granted on principal:<name> or principal:* only, not on"
                + " namespace:shop: lakeforge catalog grant IMPERSONATE principal:<name> <actor>.");
    assertThatThrownBy(() -> access.grant(BOSS, Privilege.SELECT, "principal:ann", "ops", false))
        .hasMessage(
            "SELECT cannot be granted on principal:ann: principal objects take IMPERSONATE only.");
    assertThatThrownBy(
            () -> access.grant(BOSS, Privilege.IMPERSONATE, "principal:bad name", "ops", false))
        .hasMessageContainingAll("'principal:bad name'", "principal:<name>");

    access.grant(BOSS, Privilege.SELECT, "namespace:shop", "ann", false);
    access.grant(BOSS, Privilege.EXECUTE, "model:*", "ann", false);
    access.grant(BOSS, Privilege.SELECT, "*", "ann", false);
    assertThat(access.grants(BOSS))
        .extracting(AccessControl.Grant::object, AccessControl.Grant::grantee)
        .containsExactlyInAnyOrder(
            tuple("*", "lf-boss"),
            tuple("namespace:shop", "ann"),
            tuple("model:*", "ann"),
            tuple("*", "ann"));
  }

  @Test
  void theIdentityIsTheUserOfTheProcessUidNotAVariable() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(
        System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).startsWith("windows"),
        "on Windows the identity is the JVM's user.name");
    Process id = new ProcessBuilder("id", "-un").redirectErrorStream(true).start();
    String fromOs = new String(id.getInputStream().readAllBytes()).trim();
    assertThat(id.waitFor()).isZero();

    assertThat(Identity.current()).isEqualTo(new Principal(fromOs));
    String before = System.getProperty("user.name");
    System.setProperty("user.name", "lf-mallory");
    try {
      assertThat(Identity.current().name()).isEqualTo(fromOs);
    } finally {
      System.setProperty("user.name", before);
    }
  }
}
