package dev.lakeforge.features;

import dev.lakeforge.core.LakeforgeException;
import java.time.Instant;

/**
 * A feature job cannot run as asked: a column is missing, key types differ, two sources bring the
 * same feature name, a source holds two rows for one entity at one timestamp. The message names the
 * source, the column and the fix.
 */
public class FeatureException extends LakeforgeException {
  private static final long serialVersionUID = 1L;

  public FeatureException(String message) {
    super(message);
  }

  /**
   * Two rows of feature source {@code source} for the entity {@code entity} (described as {@code
   * k1=v1, k2=v2}) at {@code micros}, where the join needs the latest.
   */
  static FeatureException duplicateRows(String source, String entity, long micros) {
    Instant at =
        Instant.EPOCH
            .plusSeconds(Math.floorDiv(micros, 1_000_000L))
            .plusNanos(Math.floorMod(micros, 1_000_000L) * 1_000L);
    return new FeatureException(
        String.format(
            "feature source %s has two rows for entity (%s) at %s: a point-in-time join cannot"
                + " tell which is the latest. Deduplicate the source (keep one row per entity and"
                + " timestamp) and run again.",
            source, entity, at));
  }
}
