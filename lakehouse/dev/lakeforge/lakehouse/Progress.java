package dev.lakeforge.lakehouse;

import java.util.Locale;

/** How jobs report elapsed time and rates in their logs and summaries. */
public final class Progress {
  private Progress() {}

  /** {@code nanos} as seconds: {@code 0.42 s}, {@code 9.1 s}, {@code 75 s}. */
  public static String seconds(long nanos) {
    double s = nanos / 1e9;
    return String.format(Locale.ROOT, s < 1 ? "%.2f s" : s < 100 ? "%.1f s" : "%.0f s", s);
  }

  /**
   * {@code rows} per second over {@code nanos}, with enough digits to be more than zero for small
   * batches: {@code 0.11 rows/s} for one row in 9 s, {@code 1250 rows/s}.
   */
  public static String rate(long rows, long nanos) {
    double r = rows / Math.max(1e-9, nanos / 1e9);
    String f = r == 0 ? "%.0f" : r < 1 ? "%.3g" : r < 100 ? "%.1f" : "%.0f";
    return String.format(Locale.ROOT, f + " rows/s", r);
  }
}
