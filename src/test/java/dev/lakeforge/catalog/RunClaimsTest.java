package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One run at a time per claim, enforced by the catalog database: a second start is refused naming
 * the running run, concurrent starts from many connections let exactly one through, a run that
 * ended frees the claim, and the claim of a run whose process died is taken over (the run marked
 * abandoned, as every run start does for dead runs).
 */
class RunClaimsTest {
  private static final Principal ANN = new Principal("ann");
  private static final String CLAIM = "inference job score_customers";
  @TempDir Path dir;

  private static RunLog.Recording start(CatalogDatabase db, String claim) {
    return new RunLog(db).start("infer", ANN, Map.of("job", "x"), List.of(), Optional.of(claim));
  }

  private static String status(CatalogDatabase db, String id) {
    return new RunLog(db).find(id).orElseThrow().status();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aSecondRunOfAClaimIsRefusedNamingTheRunningOneUntilItEnds(CatalogBackend backend) {
    CatalogDatabase db = backend.open(dir);
    RunLog.Recording first = start(db, CLAIM);
    Instant started = new RunLog(db).find(first.id()).orElseThrow().startedAt();
    ProcessOwner self = ProcessOwner.current();
    String expected =
        String.format(
            "Cannot start %s: run %s is still running it (started %s by ann, pid %d on host %s),"
                + " and only one run at a time may. Wait for that run to end, or stop it, then start"
                + " again. A run whose process is gone (killed, crashed) is marked abandoned by the"
                + " next Lakeforge command on its host, which frees %s; if that host is gone too, an"
                + " admin marks it: lakeforge catalog runs --abandon %s.",
            CLAIM, first.id(), started, self.pid(), self.host(), CLAIM, first.id());

    assertThatThrownBy(() -> new RunLog(db).requireUnclaimed(CLAIM)).hasMessage(expected);
    assertThatThrownBy(() -> start(db, CLAIM))
        .isInstanceOf(RunClaimedException.class)
        .hasMessage(expected)
        .satisfies(e -> assertThat(((RunClaimedException) e).runningRunId()).isEqualTo(first.id()));
    assertThat(new RunLog(db).recent(10)).extracting(RunLog.Run::id).containsExactly(first.id());
    // other claims, and runs without one, are not held back
    RunLog.Recording other = start(db, "inference job score_orders");
    RunLog.Recording plain = new RunLog(db).start("tables.apply", ANN, Map.of());
    other.succeeded(Map.of());
    plain.succeeded(Map.of());

    first.succeeded(Map.of());
    new RunLog(db).requireUnclaimed(CLAIM);
    RunLog.Recording second = start(db, CLAIM);
    second.failed(new IllegalStateException("scoring failed"));
    RunLog.Recording third = start(db, CLAIM);
    assertThat(status(db, third.id())).isEqualTo("running");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void concurrentStartsOfOneClaimLetExactlyOneRun(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    int starts = 8;
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(starts);
    try {
      List<Future<String>> outcomes = new ArrayList<>();
      for (int i = 0; i < starts; i++) {
        outcomes.add(
            pool.submit(
                () -> {
                  go.await();
                  try {
                    return "started " + start(db, CLAIM).id();
                  } catch (RunClaimedException e) {
                    return "refused by " + e.runningRunId();
                  }
                }));
      }
      go.countDown();
      List<String> results = new ArrayList<>();
      for (Future<String> f : outcomes) {
        results.add(f.get());
      }
      List<String> started = results.stream().filter(r -> r.startsWith("started ")).toList();
      assertThat(started).as(results.toString()).hasSize(1);
      String winner = started.get(0).substring("started ".length());
      assertThat(results).filteredOn(r -> r.startsWith("refused by ")).hasSize(starts - 1);
      assertThat(results)
          .filteredOn(r -> r.startsWith("refused by "))
          .allMatch(r -> r.equals("refused by " + winner));
    } finally {
      pool.shutdownNow();
    }
  }

  /** A running run of bob's holding {@link #CLAIM}, recorded as another process left it. */
  private static void insertRunning(
      CatalogDatabase db, String id, String host, long pid, String processStarted)
      throws Exception {
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO runs (id, job, principal, started_at, status, parameters, owner_host,"
                    + " owner_pid, owner_started, claim) VALUES (?, 'infer', 'bob', ?, 'running',"
                    + " '{}', ?, ?, ?, ?)")) {
      ps.setString(1, id);
      ps.setString(2, Instant.now().toString());
      ps.setString(3, host);
      ps.setLong(4, pid);
      ps.setString(5, processStarted);
      ps.setString(6, CLAIM);
      ps.executeUpdate();
    }
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void theClaimOfARunWhoseProcessDiedIsTakenOver(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    // a process that lives until its start time has been read, then ends (as kill -9 leaves it)
    Process finished = new ProcessBuilder("sleep", "30").start();
    ProcessOwner dead = ProcessOwner.of(finished.toHandle());
    finished.destroyForcibly();
    finished.waitFor();
    insertRunning(db, "killed", dead.host(), dead.pid(), dead.started().orElseThrow().toString());

    new RunLog(db).requireUnclaimed(CLAIM);
    RunLog.Recording next = start(db, CLAIM);

    assertThat(status(db, "killed")).isEqualTo(RunLog.ABANDONED);
    assertThat(status(db, next.id())).isEqualTo("running");
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .filteredOn(e -> e.action().equals("run.abandon"))
        .extracting(AuditLog.Entry::object)
        .containsExactly("run:killed");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void anAdminAbandonsARunOfAHostThatIsGoneWhichFreesItsClaim(CatalogBackend backend)
      throws Exception {
    CatalogDatabase db = backend.open(dir);
    new AccessControl(db).require(ANN, Privilege.ADMIN, "*"); // the first: the catalog's admin
    insertRunning(db, "on-spot", "spot-driver-7", 4242, "");
    assertThatThrownBy(() -> start(db, CLAIM))
        .hasMessageContaining("run on-spot is still running it (")
        .hasMessageContaining("by bob, pid 4242 on host spot-driver-7)");

    assertThatThrownBy(() -> new RunLog(db).abandon("on-spot", new Principal("bob")))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContainingAll("bob", "ADMIN");
    new RunLog(db).abandon("on-spot", ANN);
    assertThatThrownBy(() -> new RunLog(db).abandon("on-spot", ANN))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "Cannot abandon run on-spot: no running run has that id (see lakeforge catalog runs).");

    RunLog.Recording next = start(db, CLAIM);
    assertThat(status(db, "on-spot")).isEqualTo(RunLog.ABANDONED);
    assertThat(new RunLog(db).find("on-spot").orElseThrow().error())
        .isEqualTo("Marked abandoned by ann: its process was reported gone.");
    assertThat(status(db, next.id())).isEqualTo("running");
    assertThat(new AuditLog(db).verify().intact()).isTrue();
  }
}
