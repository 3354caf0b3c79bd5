package dev.lakeforge.lakehouse;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import java.time.Duration;

/**
 * How much history a table keeps: every version younger than {@code days}, and at least the last
 * {@code versions} versions whatever their age. Maintenance removes what falls outside both; time
 * travel works inside them.
 */
public record Retention(@JsonProperty("days") int days, @JsonProperty("versions") int versions) {
  /** Days of history kept when the spec says nothing. */
  public static final int DAYS_DEFAULT = 7;

  /** Versions kept when the spec says nothing. */
  public static final int VERSIONS_DEFAULT = 10;

  public static final Retention DEFAULT = new Retention(DAYS_DEFAULT, VERSIONS_DEFAULT);

  public Retention {
    if (days < 0) {
      throw new SpecException(String.format("retention.days is %d: it must be 0 or more.", days));
    }
    if (versions < 1) {
      throw new SpecException(
          String.format(
              "retention.versions is %d: keep at least 1 version (the current one).", versions));
    }
  }

  @JsonCreator
  static Retention create(
      @JsonProperty("days") Integer days, @JsonProperty("versions") Integer versions) {
    return new Retention(
        days == null ? DAYS_DEFAULT : days, versions == null ? VERSIONS_DEFAULT : versions);
  }

  public Duration age() {
    return Duration.ofDays(days);
  }
}
