package dev.lakeforge.lakehouse;

import dev.lakeforge.core.SpecException;
import java.util.Locale;

/** How ingested rows meet the rows already in a table. */
public enum WriteMode {
  /** Upsert on the primary key (MERGE INTO): matching rows are replaced, new rows inserted. */
  MERGE,
  /** Add the rows. */
  APPEND,
  /** Replace the table's contents with the rows. */
  OVERWRITE;

  public static WriteMode parse(String text) {
    for (WriteMode m : values()) {
      if (m.name().equalsIgnoreCase(text.trim())) {
        return m;
      }
    }
    throw new SpecException(
        String.format("mode '%s' is not supported: use merge, append or overwrite.", text));
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
