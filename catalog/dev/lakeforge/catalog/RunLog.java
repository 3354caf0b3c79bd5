package dev.lakeforge.catalog;

import dev.lakeforge.core.YamlSpecReader;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
    return start(job, who, parameters, targets, Optional.empty());
  }

  /**
   * {@link #start(String, Principal, Map, List)} for a run that holds {@code claim} while it runs:
   * what only one run at a time may do, e.g. {@code inference job score_customers}. The database
   * enforces it (a unique index on the claims of running runs), so two processes sharing the
   * catalog cannot both start: the second gets a {@link RunClaimedException} naming the running
   * run. A run frees its claim when it ends; a run whose process died frees it when it is marked
   * {@value #ABANDONED}, which this start does first for the dead runs of this host ({@link
   * #abandonDeadRuns}), or an admin does with {@link #abandon}.
   *
   * @throws RunClaimedException when a running run holds {@code claim}
   */
  public Recording start(
      String job,
      Principal who,
      Map<String, String> parameters,
      List<Artifact> targets,
      Optional<String> claim) {
    String id = UUID.randomUUID().toString();
    ProcessOwner owner = ProcessOwner.current();
    Optional<RunClaimedException> refused =
        db.inTransaction(
            "record the start of " + job,
            c -> {
              abandonDeadRuns(c, who);
              // the conflict target names the partial unique index of running claims: a running
              // run holding the claim makes the insert a no-op, also one committed by another
              // process while this one waited for it
              String sql =
                  "INSERT INTO runs (id, job, principal, started_at, status, parameters, owner_host,"
                      + " owner_pid, owner_started, claim) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      + (claim.isPresent()
                          ? " ON CONFLICT (claim) WHERE status = 'running' AND claim IS NOT NULL"
                              + " DO NOTHING"
                          : "");
              for (int attempt = 0; ; attempt++) {
                int inserted;
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                  ps.setString(1, id);
                  ps.setString(2, job);
                  ps.setString(3, who.name());
                  ps.setString(4, Instant.now().toString());
                  ps.setString(5, "running");
                  ps.setString(6, YamlSpecReader.toJson(new TreeMap<>(parameters)));
                  ps.setString(7, owner.host());
                  ps.setLong(8, owner.pid());
                  ps.setString(9, owner.started().map(Instant::toString).orElse(""));
                  ps.setString(10, claim.orElse(null));
                  inserted = ps.executeUpdate();
                }
                if (inserted == 1) {
                  break;
                }
                Optional<RunClaimedException> held = holder(c, claim.orElseThrow());
                if (held.isPresent()) {
                  return held;
                }
                if (attempt == 2) {
                  throw new CatalogException(
                      String.format(
                          "Cannot start %s: the catalog %s refused its claim three times, but no"
                              + " running run holds it when asked. Start it again.",
                          claim.get(), db.url()));
                }
                // the holder ended, or its process died, between the insert and the read
                abandonDeadRuns(c, who);
              }
              for (Artifact t : targets.stream().distinct().toList()) {
                insertIo(c, id, TARGET, new Artifact(t.kind(), t.name(), ""));
              }
              return Optional.<RunClaimedException>empty();
            });
    // thrown after the commit, so the dead runs this start found stay marked abandoned
    if (refused.isPresent()) {
      throw refused.get();
    }
    return new Recording(id, job, who);
  }

  /**
   * Fails at once when a running run holds {@code claim} (see {@link #start(String, Principal, Map,
   * List, Optional)}): a plain read, so a job can refuse before its preparation; the start itself
   * decides. A running run whose process on this host is gone does not count: the start marks it
   * {@value #ABANDONED}.
   *
   * @throws RunClaimedException naming the running run
   */
  public void requireUnclaimed(String claim) {
    Objects.requireNonNull(claim, "claim is null");
    Optional<RunClaimedException> held =
        db.read("look for the run holding " + claim, c -> holder(c, claim));
    if (held.isPresent()) {
      throw held.get();
    }
  }

  /**
   * The refusal naming the running run that holds {@code claim}, unless there is none or its
   * process on this host is gone.
   */
  private static Optional<RunClaimedException> holder(java.sql.Connection c, String claim)
      throws java.sql.SQLException {
    ProcessOwner self = ProcessOwner.current();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT id, principal, started_at, owner_host, owner_pid, owner_started FROM runs"
                + " WHERE claim = ? AND status = 'running'")) {
      ps.setString(1, claim);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        String host = rs.getString(4);
        long pid = rs.getLong(5);
        String process = "";
        if (host != null && !rs.wasNull()) {
          ProcessOwner owner = ownerOf(self, pid, rs.getString(6));
          if (host.equals(self.host()) && owner.goneOnThisHost()) {
            return Optional.empty();
          }
          process = String.format("pid %d on host %s", pid, host);
        }
        return Optional.of(
            new RunClaimedException(
                claim, rs.getString(1), Instant.parse(rs.getString(3)), rs.getString(2), process));
      }
    }
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

  /**
   * Marks the {@code running} run {@code runId} {@value #ABANDONED} by hand, for a run whose
   * process is known to be gone where no later command can tell (it ran on a host that is gone,
   * like a reclaimed spot driver): it frees the run's claim. Needs ADMIN; audited as {@code
   * run.abandon}. Abandoning a run whose process still works does not stop it: its commits still
   * land, and its claim no longer keeps a second run out.
   *
   * @throws dev.lakeforge.core.SpecException when no running run has that id
   */
  public void abandon(String runId, Principal who) {
    new AccessControl(db).require(who, Privilege.ADMIN, "*");
    boolean done =
        db.inTransaction(
            "abandon run " + runId,
            c -> {
              String error =
                  "Marked abandoned by " + who.name() + ": its process was reported gone.";
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ? AND status"
                          + " = 'running'")) {
                ps.setString(1, ABANDONED);
                ps.setString(2, Instant.now().toString());
                ps.setString(3, error);
                ps.setString(4, runId);
                if (ps.executeUpdate() == 0) {
                  return false;
                }
              }
              AuditLog.append(c, who, "run.abandon", "run:" + runId, AuditLog.DONE, error);
              return true;
            });
    if (!done) {
      throw new dev.lakeforge.core.SpecException(
          String.format(
              "Cannot abandon run %s: no running run has that id (see lakeforge catalog runs).",
              runId));
    }
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
