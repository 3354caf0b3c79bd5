package dev.lakeforge.lakehouse;

import dev.lakeforge.core.TableName;

/**
 * A write kept conflicting with other writers' commits and was given up; nothing of it was
 * committed. It names the last version the other writers committed.
 */
public final class WriteConflictException extends LakehouseException {
  private static final long serialVersionUID = 1L;
  private final long otherVersion;

  WriteConflictException(TableName table, int attempts, HistoryEntry other, Throwable cause) {
    super(
        table,
        String.format(
            "Cannot write to %s: %d attempts conflicted with concurrent writers; the last was version"
                + " %d (%s at %s%s). Nothing of this write was committed. Run it again (with a"
                + " --batch-id a re-run never writes a batch twice), or schedule the writers of this"
                + " table so they do not overlap.",
            table,
            attempts,
            other.version(),
            other.operation(),
            other.timestamp(),
            other.batchId().map(b -> ", batch " + b).orElse("")),
        cause);
    this.otherVersion = other.version();
  }

  /** The version committed by another writer that this write last conflicted with. */
  public long otherVersion() {
    return otherVersion;
  }
}
