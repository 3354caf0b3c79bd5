package dev.lakeforge.lakehouse;

import java.time.Instant;
import java.util.Optional;

/**
 * One committed version of a table.
 *
 * @param version Delta version or Iceberg snapshot id: use it with {@code VERSION AS OF}
 * @param timestamp commit time: use it with {@code TIMESTAMP AS OF}
 * @param operation what the commit did (WRITE, MERGE, DELETE, append, overwrite…)
 * @param batchId the ingest batch id committed with it, if any
 * @param details format-specific metrics (rows and files added/removed)
 */
public record HistoryEntry(
    long version, Instant timestamp, String operation, Optional<String> batchId, String details) {}
