package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runs whose process died: the next run start marks them abandoned (audited), and leaves alone the
 * runs of live processes and of other hosts.
 */
class AbandonedRunsTest {
  private static final Principal ANN = new Principal("ann");
  @TempDir Path dir;

  private static void running(CatalogDatabase db, String id, String host, long pid, String started)
      throws Exception {
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO runs (id, job, principal, started_at, status, parameters, owner_host,"
                    + " owner_pid, owner_started) VALUES (?, 'tables.ingest', 'bob', ?, 'running',"
                    + " '{}', ?, ?, ?)")) {
      ps.setString(1, id);
      ps.setString(2, Instant.now().toString());
      ps.setString(3, host);
      ps.setLong(4, pid);
      ps.setString(5, started);
      ps.executeUpdate();
    }
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void theNextRunMarksRunsOfDeadProcessesAbandoned(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    // a process that lives until its start time has been read, then ends
    Process finished = new ProcessBuilder("sleep", "30").start();
    ProcessOwner dead = ProcessOwner.of(finished.toHandle());
    finished.destroy();
    finished.waitFor();
    ProcessOwner self = ProcessOwner.current();
    String selfStarted = self.started().orElseThrow().toString();
    running(db, "dead", self.host(), dead.pid(), dead.started().orElseThrow().toString());
    running(db, "reused-pid", self.host(), self.pid(), Instant.EPOCH.toString());
    running(db, "alive", self.host(), self.pid(), selfStarted);
    running(db, "elsewhere", "another-host", dead.pid(), selfStarted);

    RunLog.Recording next = new RunLog(db).start("tables.apply", ANN, Map.of());

    Map<String, RunLog.Run> runs =
        new RunLog(db).recent(10).stream().collect(Collectors.toMap(RunLog.Run::id, r -> r));
    assertThat(runs.get("dead").status()).isEqualTo(RunLog.ABANDONED);
    assertThat(runs.get("dead").endedAt()).isNotNull();
    assertThat(runs.get("dead").error())
        .contains("pid " + dead.pid() + " on " + self.host(), "ended without closing the run");
    assertThat(runs.get("reused-pid").status()).isEqualTo(RunLog.ABANDONED);
    assertThat(runs.get("alive").status()).isEqualTo("running");
    assertThat(runs.get("elsewhere").status()).isEqualTo("running");
    assertThat(runs.get(next.id()).status()).isEqualTo("running");
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .filteredOn(e -> e.action().equals("run.abandon"))
        .extracting(AuditLog.Entry::object, AuditLog.Entry::principal)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("run:dead", "ann"),
            org.assertj.core.groups.Tuple.tuple("run:reused-pid", "ann"));
    assertThat(new AuditLog(db).verify().intact()).isTrue();
  }
}
