package dev.lakeforge.lakehouse;

import dev.lakeforge.core.SpecException;
import java.util.Locale;

/**
 * Formats of the raw files Lakeforge ingests. CSV files have a header row; JSON files hold one
 * object per line.
 */
public enum SourceFormat {
  CSV,
  JSON,
  PARQUET;

  public static SourceFormat parse(String text) {
    for (SourceFormat f : values()) {
      if (f.name().equalsIgnoreCase(text.trim())) {
        return f;
      }
    }
    throw new SpecException(
        String.format("source format '%s' is not supported: use csv, json or parquet.", text));
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
