package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.testing.CliRun;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Who a command runs as: the authenticated identity, or the principal it asks for with {@code --as}
 * when it holds {@code IMPERSONATE} on it; and {@code --spark-conf} cannot move the security
 * settings unless the identity is an admin. The home is bootstrapped by the OS user running the
 * tests; a second, non-admin identity ({@code lf-dora}) is given to the CLI the way only tests in
 * this package can. No Spark is started.
 */
class IdentityCliTest {
  private static final Principal DORA = new Principal("lf-dora");
  private final String me = Identity.current().name();
  @TempDir Path home;

  /** Runs the CLI on the home authenticated as {@code identity}. */
  private CliRun as(Principal identity, String... args) {
    List<String> all = new ArrayList<>(List.of("--home", home.toString()));
    all.addAll(List.of(args));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = LakeforgeCli.execute(identity, all.toArray(String[]::new), o, e);
    }
    return new CliRun(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  private CliRun doraFails(String... args) {
    CliRun r = as(DORA, args);
    assertThat(r.code()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).startsWith("error: ");
    return r;
  }

  @BeforeEach
  void bootstrap() {
    ok("catalog", "grants"); // the OS user becomes the home's admin
  }

  @Test
  void withoutAsTheCommandRunsAsTheIdentity() {
    assertThat(doraFails("catalog", "grants").err())
        .contains("principal lf-dora does not hold ADMIN on *");
    assertThat(ok("catalog", "grants").out()).contains("principal:" + me, "ADMIN");
  }

  @Test
  void aForgedAsIsRefusedAndAuditedWithBothNames() {
    assertThat(doraFails("--as", me, "catalog", "grants").err())
        .contains(
            "lf-dora may not act as " + me,
            "IMPERSONATE on principal:" + me,
            "lakeforge catalog grant IMPERSONATE principal:" + me + " lf-dora");

    assertThat(ok("catalog", "audit", "--object", "principal:").out())
        .contains(
            "| " + me + " ",
            "access.impersonate",
            "| denied ",
            "actor lf-dora may not act as " + me);
    assertThat(ok("catalog", "principals").out())
        .as("a refused request creates no principal")
        .doesNotContain("lf-dora");
  }

  @Test
  void withImpersonateTheCommandRunsWithTheRequestedPrincipalsPrivileges() {
    ok("catalog", "grant", "IMPERSONATE", "principal:svc-etl", "lf-dora");

    assertThat(doraFails("--as", "svc-etl", "catalog", "grants").err())
        .as("dora may act as svc-etl, which is no admin")
        .contains("principal svc-etl does not hold ADMIN on *");
    ok("catalog", "grant", "ADMIN", "*", "svc-etl");
    assertThat(as(DORA, "--as", "svc-etl", "catalog", "grants").out())
        .contains("principal:lf-dora", "IMPERSONATE", "principal:svc-etl");
    assertThat(doraFails("--as", "ann", "catalog", "grants").err())
        .contains("lf-dora may not act as ann");

    String audit = ok("catalog", "audit", "--principal", "svc-etl").out();
    assertThat(audit)
        .contains("access.impersonate", "| allowed ", "actor lf-dora acts as svc-etl")
        .contains("access.admin", "actor lf-dora");
  }

  @Test
  void grantsOnTablesAndModelsNotInTheCatalogAreRefused() {
    assertThat(CliRun.run(home, "catalog", "grant", "SELECT", "table:shop.orderz", "ann").err())
        .contains("the catalog has no table shop.orderz", "lakeforge tables apply");
    assertThat(CliRun.run(home, "catalog", "grant", "EXECUTE", "model:chrun", "ann").err())
        .contains("the catalog has no model chrun", "lakeforge models register chrun");
    ok("catalog", "grant", "SELECT", "namespace:shop", "ann");
    ok("catalog", "grant", "EXECUTE", "model:*", "ann");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "spark.lakeforge.catalog.url",
        "spark.lakeforge.principal",
        "spark.sql.extensions",
        "spark.sql.catalog.spark_catalog"
      })
  void securitySparkSettingsNeedAnAdminOfTheConfiguredCatalog(String key) {
    String err = doraFails("--spark-conf", key + "=x", "sql", "select 1").err();

    assertThat(err)
        .contains(
            "--spark-conf " + key + "=... is refused",
            "lf-dora does not hold ADMIN on * in the catalog jdbc:sqlite:",
            "Security settings come from the platform config",
            "--conf FILE, default conf/lakeforge.yaml");
    assertThat(LakeforgeCli.securitySetting("spark.sql.shuffle.partitions")).isFalse();
    assertThat(LakeforgeCli.securitySetting("spark.hadoop.fs.s3a.endpoint")).isFalse();
  }

  @Test
  void impersonatingDoesNotLiftTheSparkConfRule() {
    ok("catalog", "grant", "IMPERSONATE", "principal:" + me, "lf-dora");
    assertThat(
            doraFails(
                    "--as",
                    me,
                    "--spark-conf",
                    "spark.lakeforge.catalog.url=jdbc:sqlite:/tmp/other.db",
                    "sql",
                    "select 1")
                .err())
        .as("the identity, not the admin it acts as, must hold ADMIN")
        .contains("lf-dora does not hold ADMIN");
  }
}
