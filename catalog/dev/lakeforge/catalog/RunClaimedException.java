package dev.lakeforge.catalog;

import java.time.Instant;
import java.util.Objects;

/**
 * A run could not start: another run holding the same claim (one run at a time, e.g. of one
 * inference job) is still running. The message names the claim, the running run (id, start,
 * principal, process) and what to do.
 */
public final class RunClaimedException extends CatalogException {
  private static final long serialVersionUID = 1L;
  private final String claim;
  private final String runningRunId;

  RunClaimedException(String claim, String runId, Instant started, String principal, String owner) {
    super(
        String.format(
            "Cannot start %s: run %s is still running it (started %s by %s%s), and only one run at a"
                + " time may. Wait for that run to end, or stop it, then start again. A run whose"
                + " process is gone (killed, crashed) is marked abandoned by the next Lakeforge"
                + " command on its host, which frees %s; if that host is gone too, an admin marks"
                + " it: lakeforge catalog runs --abandon %s.",
            claim, runId, started, principal, owner.isEmpty() ? "" : ", " + owner, claim, runId));
    this.claim = Objects.requireNonNull(claim, "claim is null");
    this.runningRunId = Objects.requireNonNull(runId, "runId is null");
  }

  /** What only one run at a time may do, e.g. {@code inference job score_customers}. */
  public String claim() {
    return claim;
  }

  /** The id of the run that holds the claim. */
  public String runningRunId() {
    return runningRunId;
  }
}
