package dev.lakeforge.catalog;

import dev.lakeforge.core.YamlSpecReader;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Runs of jobs: who ran what, when, with which parameters, how it ended, what it read (with the
 * versions read) and what it wrote (with the versions written). Lineage is derived from the runs
 * that succeeded.
 */
public final class RunLog {
  private final CatalogDatabase db;

  public RunLog(CatalogDatabase db) {
    this.db = db;
  }

  /**
   * A recorded run.
   *
   * @param id its id
   * @param job the job, e.g. {@code tables.ingest}
   * @param principal who ran it
   * @param startedAt when it started
   * @param endedAt when it ended (null while running)
   * @param status running, succeeded, failed or abandoned (its process ended without closing it)
   * @param parameters its parameters
   * @param metrics its metrics (JSON)
   * @param error why it failed
   */
  public record Run(
      String id,
      String job,
      String principal,
      Instant startedAt,
      Instant endedAt,
      String status,
      Map<String, String> parameters,
      String metrics,
      String error) {}

  /**
   * An open run: add what it reads and writes, then end it with {@link #succeeded} or {@link
   * #failed}.
   */
  public final class Recording {
    private final String id;
    private final String job;
    private final Principal principal;
    private final List<Artifact> inputs = new ArrayList<>();
    private final List<Artifact> outputs = new ArrayList<>();

    private Recording(String id, String job, Principal principal) {
      this.id = id;
      this.job = job;
      this.principal = principal;
    }

    public String id() {
      return id;
    }

    public Recording input(Artifact a) {
      inputs.add(Objects.requireNonNull(a, "artifact is null"));
      return this;
    }

    /** The outputs added so far. */
    public List<Artifact> outputs() {
      return List.copyOf(outputs);
    }

    public Recording output(Artifact a) {
      outputs.add(Objects.requireNonNull(a, "artifact is null"));
      return this;
    }

    /**
     * Ends the run as succeeded, with its inputs, outputs and metrics, and an audit entry per
     * output, in one transaction.
     */
    public void succeeded(Map<String, ?> metrics) {
      db.inTransaction(
          "record the end of run " + id,
          c -> {
            for (var io : List.of(Map.entry("input", inputs), Map.entry("output", outputs))) {
              for (Artifact a : io.getValue().stream().distinct().toList()) {
                insertIo(c, id, io.getKey(), a);
              }
            }
            end(c, "succeeded", YamlSpecReader.toJson(new TreeMap<>(metrics)), null);
            // every write is a mutation: audited with the run, in the same transaction
            for (Artifact out : outputs.stream().distinct().toList()) {
              AuditLog.append(
                  c,
                  principal,
                  job,
                  out.kind().label() + ":" + out.name(),
                  AuditLog.DONE,
                  "wrote version " + out.version() + " (run " + id + ")");
            }
            return null;
          });
    }

    /** Ends the run as failed; what it read or wrote is not recorded as lineage. */
    public void failed(Throwable error) {
      db.inTransaction(
          "record the failure of run " + id,
          c -> {
            end(c, "failed", null, String.valueOf(error.getMessage()));
            return null;
          });
    }

    private void end(java.sql.Connection c, String status, String metrics, String error)
        throws java.sql.SQLException {
      try (PreparedStatement ps =
          c.prepareStatement(
              "UPDATE runs SET status = ?, ended_at = ?, metrics = ?, error = ? WHERE id = ?")) {
        ps.setString(1, status);
        ps.setString(2, Instant.now().toString());
        ps.setString(3, metrics);
        ps.setString(4, error);
        ps.setString(5, id);
        ps.executeUpdate();
      }
    }
  }

  /** The status of a run whose process ended without closing it. */
  public static final String ABANDONED = "abandoned";

  /**
   * Records the start of a run, owned by this process (host, pid, process start). In the same
   * transaction, marks {@value #ABANDONED} every {@code running} run owned by a process on this
   * host that has ended (see {@link #abandonDeadRuns}).
   */
  public Recording start(String job, Principal who, Map<String, String> parameters) {
    return start(job, who, parameters, List.of());
  }

  /**
   * {@link #start(String, Principal, Map)} for a run that will write {@code targets} (tables,
   * without versions): they are recorded with the start, before anything is written, so a later
   * command can find the commits of a run whose process died before closing it ({@link #deadRuns},
   * {@link #reconcile}).
   */
  public Recording start(
      String job, Principal who, Map<String, String> parameters, List<Artifact> targets) {
    String id = UUID.randomUUID().toString();
    ProcessOwner owner = ProcessOwner.current();
    db.inTransaction(
        "record the start of " + job,
        c -> {
          abandonDeadRuns(c, who);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO runs (id, job, principal, started_at, status, parameters, owner_host,"
                      + " owner_pid, owner_started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, id);
            ps.setString(2, job);
            ps.setString(3, who.name());
            ps.setString(4, Instant.now().toString());
            ps.setString(5, "running");
            ps.setString(6, YamlSpecReader.toJson(new TreeMap<>(parameters)));
            ps.setString(7, owner.host());
            ps.setLong(8, owner.pid());
            ps.setString(9, owner.started().map(Instant::toString).orElse(""));
            ps.executeUpdate();
          }
          for (Artifact t : targets.stream().distinct().toList()) {
            insertIo(c, id, TARGET, new Artifact(t.kind(), t.name(), ""));
          }
          return null;
        });
    return new Recording(id, job, who);
  }

  /** run_io direction of what a run is about to write (no version). */
  static final String TARGET = "target";

  private static void insertIo(java.sql.Connection c, String runId, String direction, Artifact a)
      throws java.sql.SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO run_io (run_id, direction, kind, name, version) VALUES (?, ?, ?, ?, ?)")) {
      ps.setString(1, runId);
      ps.setString(2, direction);
      ps.setString(3, a.kind().label());
      ps.setString(4, a.name());
      ps.setString(5, a.version());
      ps.executeUpdate();
    }
  }

  /**
   * A {@code running} run whose process on this host has ended, with the tables it was about to
   * write.
   *
   * @param id the run
   * @param job its job
   * @param targets the tables it recorded as targets at its start
   */
  public record DeadRun(String id, String job, List<Artifact> targets) {}

  /**
   * The {@code running} runs with recorded targets whose owning process ran on this host and is
   * gone: their commits, if any, can be found by run id in the targets' history.
   */
  public List<DeadRun> deadRuns() {
    ProcessOwner self = ProcessOwner.current();
    return db.read(
        "list unclosed runs",
        c -> {
          List<DeadRun> out = new ArrayList<>();
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT r.id, r.job, r.owner_pid, r.owner_started, io.kind, io.name FROM runs r"
                      + " JOIN run_io io ON io.run_id = r.id AND io.direction = ?"
                      + " WHERE r.status = 'running' AND r.owner_host = ? AND r.owner_pid IS NOT"
                      + " NULL ORDER BY r.id")) {
            ps.setString(1, TARGET);
            ps.setString(2, self.host());
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                if (!ownerOf(self, rs.getLong(3), rs.getString(4)).goneOnThisHost()) {
                  continue;
                }
                Artifact target =
                    new Artifact(Artifact.Kind.parse(rs.getString(5)), rs.getString(6), "");
                String id = rs.getString(1);
                if (!out.isEmpty() && out.get(out.size() - 1).id().equals(id)) {
                  List<Artifact> ts = new ArrayList<>(out.get(out.size() - 1).targets());
                  ts.add(target);
                  out.set(out.size() - 1, new DeadRun(id, rs.getString(2), List.copyOf(ts)));
                } else {
                  out.add(new DeadRun(id, rs.getString(2), List.of(target)));
                }
              }
            }
          }
          return out;
        });
  }

  /**
   * Closes a dead run whose commits were found in its targets' history: {@code succeeded} with
   * those outputs (so lineage has them), a note that it was reconciled, and an audit entry {@code
   * run.reconcile} per output. Returns false when another command closed it first.
   */
  public boolean reconcile(String runId, List<Artifact> outputs, Principal who) {
    return db.inTransaction(
        "reconcile run " + runId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE runs SET status = 'succeeded', ended_at = ?, metrics = ?, error = ?"
                      + " WHERE id = ? AND status = 'running'")) {
            ps.setString(1, Instant.now().toString());
            ps.setString(2, YamlSpecReader.toJson(Map.of("reconciled", true)));
            ps.setString(
                3,
                "Its process ended after committing and before closing the run; closed by a later"
                    + " command from the tables' history.");
            ps.setString(4, runId);
            if (ps.executeUpdate() == 0) {
              return false;
            }
          }
          for (Artifact out : outputs.stream().distinct().toList()) {
            insertIo(c, runId, "output", out);
            AuditLog.append(
                c,
                who,
                "run.reconcile",
                out.kind().label() + ":" + out.name(),
                AuditLog.DONE,
                "run " + runId + " committed version " + out.version() + " (found in its history)");
          }
          return true;
        });
  }

  private static ProcessOwner ownerOf(ProcessOwner self, long pid, String started) {
    return new ProcessOwner(
        self.host(),
        pid,
        started == null || started.isEmpty()
            ? java.util.Optional.empty()
            : java.util.Optional.of(Instant.parse(started)));
  }

  /**
   * Marks {@value #ABANDONED} (with an error saying the process ended without closing the run, and
   * an audit entry {@code run.abandon} by {@code who}) each {@code running} run whose owning
   * process ran on this host and is gone: no process with its pid, or one that started at another
   * instant. Runs of other hosts, and runs recorded before owners were, are left alone. Returns the
   * ids.
   */
  static List<String> abandonDeadRuns(java.sql.Connection c, Principal who)
      throws java.sql.SQLException {
    ProcessOwner self = ProcessOwner.current();
    List<String[]> dead = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT id, owner_pid, owner_started, job, principal FROM runs WHERE status = 'running'"
                + " AND owner_host = ? AND owner_pid IS NOT NULL")) {
      ps.setString(1, self.host());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ProcessOwner owner = ownerOf(self, rs.getLong(2), rs.getString(3));
          if (owner.goneOnThisHost()) {
            dead.add(
                new String[] {
                  rs.getString(1),
                  String.format(
                      "The process that ran it (pid %d on %s, started %s) ended without closing the"
                          + " run (killed or crashed); its outputs may be partial.",
                      owner.pid(),
                      owner.host(),
                      owner.started().map(Instant::toString).orElse("at an unknown time")),
                  rs.getString(4),
                  rs.getString(5)
                });
          }
        }
      }
    }
    List<String> ids = new ArrayList<>();
    for (String[] run : dead) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ? AND status = 'running'")) {
        ps.setString(1, ABANDONED);
        ps.setString(2, Instant.now().toString());
        ps.setString(3, run[1]);
        ps.setString(4, run[0]);
        if (ps.executeUpdate() == 0) {
          continue; // another command marked it first
        }
      }
      AuditLog.append(
          c,
          who,
          "run.abandon",
          "run:" + run[0],
          AuditLog.DONE,
          "job " + run[2] + " of " + run[3] + ": " + run[1]);
      ids.add(run[0]);
    }
    return ids;
  }

  private static final String RUN_COLUMNS =
      "SELECT id, job, principal, started_at, ended_at, status, parameters, metrics, error FROM runs";

  /** The most recent runs, newest first. */
  public List<Run> recent(int limit) {
    return db.read(
        "list runs",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(RUN_COLUMNS + " ORDER BY started_at DESC, id LIMIT ?")) {
            ps.setInt(1, limit);
            return runs(ps);
          }
        });
  }

  /** The run with id {@code id}, if recorded. */
  public java.util.Optional<Run> find(String id) {
    return db.read(
        "read run " + id,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(RUN_COLUMNS + " WHERE id = ?")) {
            ps.setString(1, id);
            return runs(ps).stream().findFirst();
          }
        });
  }

  /**
   * The newest run of {@code job} that succeeded with parameter {@code parameter} equal to {@code
   * value} (e.g. the last materialization of one feature set).
   */
  public java.util.Optional<Run> lastSucceeded(String job, String parameter, String value) {
    return db.read(
        "find the last run of " + job,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  RUN_COLUMNS
                      + " WHERE job = ? AND status = 'succeeded' ORDER BY started_at DESC, id")) {
            ps.setString(1, job);
            return runs(ps).stream()
                .filter(r -> value.equals(r.parameters().get(parameter)))
                .findFirst();
          }
        });
  }

  /** What run {@code runId} read, with the versions it read (empty for a run that failed). */
  public List<Artifact> inputs(String runId) {
    return db.read(
        "read the inputs of run " + runId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT kind, name, version FROM run_io WHERE run_id = ? AND direction = 'input'"
                      + " ORDER BY kind, name")) {
            ps.setString(1, runId);
            List<Artifact> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(
                    new Artifact(
                        Artifact.Kind.parse(rs.getString(1)), rs.getString(2), rs.getString(3)));
              }
            }
            return out;
          }
        });
  }

  private static List<Run> runs(PreparedStatement ps) throws java.sql.SQLException {
    List<Run> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        @SuppressWarnings("unchecked")
        Map<String, String> params =
            YamlSpecReader.parse(rs.getString(7), java.util.LinkedHashMap.class, "run parameters");
        out.add(
            new Run(
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                Instant.parse(rs.getString(4)),
                rs.getString(5) == null ? null : Instant.parse(rs.getString(5)),
                rs.getString(6),
                params,
                rs.getString(8),
                rs.getString(9)));
      }
    }
    return out;
  }
}
