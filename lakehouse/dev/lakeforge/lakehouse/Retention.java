package dev.lakeforge.lakehouse;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How much history a table keeps: every version younger than {@code days}, and at least the last
 * {@code versions} versions whatever their age. Maintenance removes what falls outside both; time
 * travel works inside them.
 *
 * <p>The format's own cleanup is told the same through table properties ({@link #tableProperties}),
 * so that it does not remove what the spec keeps. Delta: {@value #DELTA_LOG_RETENTION} and {@value
 * #DELTA_DELETED_FILE_RETENTION} are both {@code max(days, 30)} days: never less than Delta's
 * 30-day log default, and the deleted-file retention as long as the log because Delta drops older
 * tombstones from a snapshot, after which VACUUM no longer protects their files for older versions.
 * {@code versions} therefore reaches back at most that far on Delta: a version older than the log
 * retention loses its commit at Delta's next log cleanup. Iceberg: {@value
 * #ICEBERG_MAX_SNAPSHOT_AGE} is {@code days} and {@value #ICEBERG_MIN_SNAPSHOTS} is {@code
 * versions}, exactly what Lakeforge's own expire_snapshots keeps. A spec may set any of these keys
 * itself only to keep more, never less.
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

  /** Delta table property: how long commits stay in the log (time travel needs them). */
  public static final String DELTA_LOG_RETENTION = "delta.logRetentionDuration";

  /** Delta table property: how long removed files are remembered, and kept by a plain VACUUM. */
  public static final String DELTA_DELETED_FILE_RETENTION = "delta.deletedFileRetentionDuration";

  /** Delta's default log retention in days; Lakeforge never sets less. */
  public static final int DELTA_MIN_DAYS = 30;

  /** Iceberg table property: snapshots younger than this are kept by expire_snapshots. */
  public static final String ICEBERG_MAX_SNAPSHOT_AGE = "history.expire.max-snapshot-age-ms";

  /** Iceberg table property: this many snapshots are always kept by expire_snapshots. */
  public static final String ICEBERG_MIN_SNAPSHOTS = "history.expire.min-snapshots-to-keep";

  /**
   * The table properties that make {@code format}'s own cleanup keep at least this retention (see
   * the class comment for the rule).
   */
  public Map<String, String> tableProperties(TableFormat format) {
    Map<String, String> out = new TreeMap<>();
    if (format == TableFormat.DELTA) {
      String kept = String.format(Locale.ROOT, "interval %d days", Math.max(days, DELTA_MIN_DAYS));
      out.put(DELTA_LOG_RETENTION, kept);
      out.put(DELTA_DELETED_FILE_RETENTION, kept);
    } else {
      out.put(ICEBERG_MAX_SNAPSHOT_AGE, Long.toString(age().toMillis()));
      out.put(ICEBERG_MIN_SNAPSHOTS, Integer.toString(versions));
    }
    return out;
  }

  /**
   * Refuses a spec's own {@code properties} that would make the format remove history this
   * retention keeps: a Delta log or deleted-file retention shorter than {@code days}, an Iceberg
   * snapshot age shorter than {@code days} or fewer snapshots than {@code versions}.
   */
  void checkProperties(TableName table, TableFormat format, Map<String, String> properties) {
    if (format == TableFormat.DELTA) {
      for (String key : new String[] {DELTA_LOG_RETENTION, DELTA_DELETED_FILE_RETENTION}) {
        String value = properties.get(key);
        if (value != null && deltaInterval(table, key, value).compareTo(age()) < 0) {
          throw shorter(table, key, value, String.format(Locale.ROOT, "interval %d days", days));
        }
      }
      return;
    }
    String age = properties.get(ICEBERG_MAX_SNAPSHOT_AGE);
    if (age != null && number(table, ICEBERG_MAX_SNAPSHOT_AGE, age) < age().toMillis()) {
      throw shorter(table, ICEBERG_MAX_SNAPSHOT_AGE, age, Long.toString(age().toMillis()));
    }
    String min = properties.get(ICEBERG_MIN_SNAPSHOTS);
    if (min != null && number(table, ICEBERG_MIN_SNAPSHOTS, min) < versions) {
      throw new SpecException(
          String.format(
              Locale.ROOT,
              "table %s: property `%s` is '%s', fewer than retention.versions (%d): Iceberg would"
                  + " expire snapshots the spec keeps. Set it to at least '%d' or remove it"
                  + " (Lakeforge then sets it from `retention`).",
              table,
              ICEBERG_MIN_SNAPSHOTS,
              min,
              versions,
              versions));
    }
  }

  private SpecException shorter(TableName table, String key, String value, String least) {
    return new SpecException(
        String.format(
            Locale.ROOT,
            "table %s: property `%s` is '%s', shorter than retention.days (%d days): the format would"
                + " remove history the spec keeps. Set it to at least '%s' or remove it (Lakeforge"
                + " then sets it from `retention`).",
            table,
            key,
            value,
            days,
            least));
  }

  /** A Delta interval property ({@code interval 30 days}, {@code 1 week}) as Delta reads it. */
  private static Duration deltaInterval(TableName table, String key, String value) {
    String s = value.trim();
    String text = s.toLowerCase(Locale.ROOT).startsWith("interval") ? s : "interval " + s;
    org.apache.spark.unsafe.types.CalendarInterval i =
        org.apache.spark.sql.catalyst.util.IntervalUtils.safeStringToInterval(
            org.apache.spark.unsafe.types.UTF8String.fromString(text));
    if (i == null || i.months != 0) {
      throw new SpecException(
          String.format(
              "table %s: property `%s` is '%s', which is not a Delta interval in days, hours or"
                  + " weeks: write e.g. 'interval 30 days'.",
              table, key, value));
    }
    return Duration.ofDays(i.days)
        .plus(Duration.ofNanos(Math.multiplyExact(i.microseconds, 1000L)));
  }

  private static long number(TableName table, String key, String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw new SpecException(
          String.format(
              "table %s: property `%s` is '%s', which is not a whole number.", table, key, value));
    }
  }
}
