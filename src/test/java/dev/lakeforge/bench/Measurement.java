package dev.lakeforge.bench;

import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.WriteMode;

/**
 * What the benchmark times. Every sample is a wall time in seconds; ingests are also reported as
 * rows per second.
 */
enum Measurement {
  SMALL_COMMIT("Small Delta commit: 1-row OVERWRITE via IngestJob"),
  VACUUM_DRY_RUN("MaintainJob dry run (VACUUM DRY RUN)"),
  VACUUM("MaintainJob (OPTIMIZE + VACUUM)"),
  DELTA_APPEND("Ingest orders CSV into empty Delta table, APPEND"),
  DELTA_MERGE("Ingest orders CSV into empty Delta table, MERGE"),
  ICEBERG_APPEND("Ingest orders CSV into empty Iceberg table, APPEND"),
  ICEBERG_MERGE("Ingest orders CSV into empty Iceberg table, MERGE");

  private final String label;

  Measurement(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }

  /** Whether this is one of the ingests, reported as throughput. */
  boolean ingest() {
    return this.compareTo(DELTA_APPEND) >= 0;
  }

  /** The ingest's table format; only for {@link #ingest()} measurements. */
  TableFormat format() {
    return switch (this) {
      case DELTA_APPEND, DELTA_MERGE -> TableFormat.DELTA;
      case ICEBERG_APPEND, ICEBERG_MERGE -> TableFormat.ICEBERG;
      default -> throw new IllegalStateException(this + " is not an ingest");
    };
  }

  /** The ingest's write mode; only for {@link #ingest()} measurements. */
  WriteMode mode() {
    return switch (this) {
      case DELTA_APPEND, ICEBERG_APPEND -> WriteMode.APPEND;
      case DELTA_MERGE, ICEBERG_MERGE -> WriteMode.MERGE;
      default -> throw new IllegalStateException(this + " is not an ingest");
    };
  }
}
