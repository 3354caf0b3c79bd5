package dev.lakeforge.lakehouse;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * What Lakeforge writes into every commit it makes: the run that made it, and the batch id when
 * there is one. Delta keeps it in the commit's user metadata ({@code
 * lakeforge.run-id=R;lakeforge.batch-id=B}), Iceberg in the snapshot summary (one property each).
 * The run id lets a job find the version <em>it</em> committed (never "the latest after the job"),
 * and lets a later command reconcile a run whose process died between the commit and closing the
 * run.
 *
 * @param runId the run that commits
 * @param batchId the batch the commit carries, for idempotent re-runs
 */
record CommitTag(String runId, Optional<String> batchId) {
  static final String RUN_KEY = "lakeforge.run-id";
  static final String BATCH_KEY = "lakeforge.batch-id";

  CommitTag {
    Objects.requireNonNull(runId, "runId is null");
    batchId = batchId == null ? Optional.empty() : batchId;
    if (runId.isBlank() || runId.contains(";") || runId.contains("=")) {
      throw new IllegalArgumentException("run id '" + runId + "' cannot be written in a commit");
    }
  }

  /** The properties, run id first. */
  Map<String, String> properties() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put(RUN_KEY, runId);
    batchId.ifPresent(b -> p.put(BATCH_KEY, b));
    return p;
  }

  /** The form Delta keeps in {@code commitInfo.userMetadata}. */
  String deltaUserMetadata() {
    StringJoiner j = new StringJoiner(";");
    properties().forEach((k, v) -> j.add(k + "=" + v));
    return j.toString();
  }

  /** The Delta user-metadata marker of {@code runId}, for a substring search in history. */
  static String deltaRunMarker(String runId) {
    return RUN_KEY + "=" + runId;
  }

  /**
   * The properties in a Delta commit's user metadata, if Lakeforge wrote it: this form, or the
   * {@code lakeforge.batch-id=B} that earlier versions wrote.
   */
  static Map<String, String> parseDelta(String userMetadata) {
    Map<String, String> out = new LinkedHashMap<>();
    if (userMetadata == null || !userMetadata.startsWith("lakeforge.")) {
      return out;
    }
    for (String part : userMetadata.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        out.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return out;
  }
}
