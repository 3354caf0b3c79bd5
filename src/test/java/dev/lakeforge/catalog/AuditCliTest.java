package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lakeforge catalog audit --verify / --expect-head / --repair-triggers}, the refusal of a
 * catalog without its triggers, and {@code models list} showing only what the principal may
 * EXECUTE, end to end on an embedded home.
 */
class AuditCliTest {
  private static final Pattern VERIFIED =
      Pattern.compile("audit log verified: (\\d+) rows, head (\\d+) ([0-9a-f]{64})\n");
  @TempDir Path home;

  private CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  private CliRun fails(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).startsWith("error: ");
    return r;
  }

  /** The OS user bootstraps the home as its admin and makes ann one too. */
  @org.junit.jupiter.api.BeforeEach
  void annIsAnAdmin() {
    ok("catalog", "grant", "ADMIN", "*", "ann");
  }

  private void register(String model) throws Exception {
    Path file = Files.writeString(home.resolve(model + ".pt"), "bytes of " + model);
    Path signature = Files.writeString(home.resolve("sig.yaml"), TestSignatures.X_TO_Y_YAML);
    ok(
        "--as",
        "ann",
        "models",
        "register",
        model,
        "--file",
        file.toString(),
        "--flavor",
        "torchscript",
        "--signature",
        signature.toString());
  }

  @Test
  void modelsListShowsOnlyWhatThePrincipalMayExecute() throws Exception {
    register("churn");
    register("fraud");
    ok("--as", "ann", "catalog", "grant", "EXECUTE", "model:churn", "bob");

    assertThat(ok("--as", "ann", "models", "list").out()).contains("churn", "fraud");
    assertThat(ok("--as", "bob", "models", "list").out()).contains("churn").doesNotContain("fraud");
    assertThat(ok("--as", "carl", "models", "list").out()).doesNotContain("churn", "fraud");
  }

  @Test
  void verifyRepairAndTheRefusalOfACatalogWithoutTriggers() throws Exception {
    register("churn");
    Matcher first = VERIFIED.matcher(ok("--as", "ann", "catalog", "audit", "--verify").out());
    assertThat(first.matches()).as(first.toString()).isTrue();
    String head = first.group(2) + ":" + first.group(3);
    assertThat(fails("--as", "bob", "catalog", "audit", "--verify").err()).contains("bob", "ADMIN");
    ok("--as", "ann", "catalog", "audit", "--verify", "--expect-head", head);

    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + home.resolve("catalog.db"));
        Statement s = c.createStatement()) {
      s.execute("DROP TRIGGER audit_log_no_delete");
    }

    assertThat(fails("--as", "ann", "models", "list").err())
        .contains(
            "missing its append-only triggers [audit_log_no_delete]",
            "lakeforge catalog audit --verify",
            "lakeforge catalog audit --repair-triggers");
    // While the triggers are missing only verify and repair run, as the identity itself: acting as
    // another principal needs the catalog, which is refused.
    assertThat(ok("catalog", "audit", "--verify").out()).startsWith("audit log verified: ");
    String wrong = first.group(2) + ":" + "0".repeat(64);
    assertThat(fails("catalog", "audit", "--verify", "--expect-head", wrong).err())
        .contains("failed verification at row " + first.group(2), "HEAD_MISSING");
    assertThat(fails("--as", "bob", "catalog", "audit", "--repair-triggers").err())
        .contains("missing its append-only triggers");
    assertThat(ok("catalog", "audit", "--repair-triggers").out())
        .contains(
            "Re-created the audit log's append-only triggers: audit_log_no_delete",
            "audit log verified: ");
    assertThat(fails("--as", "bob", "catalog", "audit", "--repair-triggers").err())
        .contains("bob", "ADMIN");
    assertThat(ok("--as", "ann", "catalog", "audit", "--object", "catalog:audit_log").out())
        .contains("audit.repair-triggers", "re-created audit_log_no_delete");
    ok("--as", "ann", "catalog", "audit", "--verify", "--expect-head", head);
    assertThat(fails("--as", "ann", "catalog", "audit", "--expect-head", head).err())
        .contains("--expect-head needs --verify");
  }

  @Test
  void anAdminMarksARunningRunAbandonedByItsId() {
    CatalogDatabase db =
        CatalogDatabase.open(
            "jdbc:sqlite:" + home.resolve("catalog.db"),
            java.util.Optional.empty(),
            java.util.Optional.empty());
    // a run of a process on a host that is gone holds the job's claim
    RunLog.Recording run =
        new RunLog(db)
            .start(
                "infer",
                new Principal("bob"),
                java.util.Map.of(),
                java.util.List.of(),
                java.util.Optional.of("inference job score_customers"));

    assertThat(fails("--as", "bob", "catalog", "runs", "--abandon", run.id()).err())
        .contains("bob", "ADMIN");
    assertThat(ok("--as", "ann", "catalog", "runs", "--abandon", run.id()).out())
        .isEqualTo("Run " + run.id() + " marked abandoned.\n");
    assertThat(new RunLog(db).find(run.id()).orElseThrow().status()).isEqualTo(RunLog.ABANDONED);
    assertThat(fails("--as", "ann", "catalog", "runs", "--abandon", run.id()).err())
        .isEqualTo(
            "error: Cannot abandon run "
                + run.id()
                + ": no running run has that id (see lakeforge catalog runs).\n");
    new RunLog(db).requireUnclaimed("inference job score_customers");
  }
}
