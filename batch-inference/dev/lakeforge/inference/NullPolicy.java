package dev.lakeforge.inference;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.lakeforge.core.SpecException;
import java.util.Locale;

/** What a tabular input does with a null feature value. */
public enum NullPolicy {
  /** The value 0. */
  ZERO,
  /**
   * The column's mean over the non-null values of the input, computed on the driver when scoring
   * starts (one aggregate query) and shipped with the plan, so every executor fills the same value.
   */
  MEAN,
  /** Scoring fails with an error naming the column. */
  ERROR;

  @JsonCreator
  public static NullPolicy parse(String text) {
    for (NullPolicy p : values()) {
      if (p.label().equals(text == null ? "" : text.trim().toLowerCase(Locale.ROOT))) {
        return p;
      }
    }
    throw new SpecException(
        String.format("nulls '%s' is not supported: use zero, mean or error.", text));
  }

  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return label();
  }
}
