package dev.lakeforge.features;

import dev.lakeforge.core.SpecException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the short durations of feature specs: a whole number and a unit, e.g. {@code 48h}. */
public final class Durations {
  private static final Pattern SHORT = Pattern.compile("(\\d{1,9})\\s*([smhdw])");

  private Durations() {}

  /**
   * Parses {@code text} ({@code 90s}, {@code 30m}, {@code 48h}, {@code 7d}, {@code 2w}); {@code
   * field} names the field in the error.
   *
   * @throws SpecException if the text is not such a duration or is zero
   */
  public static Duration parse(String text, String field) {
    Matcher m = SHORT.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new SpecException(
          String.format(
              "`%s` is '%s', which is not a duration: write a whole number and a unit"
                  + " (s, m, h, d or w), e.g. 48h or 7d.",
              field, text));
    }
    long n = Long.parseLong(m.group(1));
    Duration d =
        switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          case "d" -> Duration.ofDays(n);
          default -> Duration.ofDays(7 * n);
        };
    if (d.isZero()) {
      throw new SpecException(
          String.format("`%s` is '%s': it must be longer than zero, e.g. 48h.", field, text));
    }
    return d;
  }

  /** Writes {@code d} in the form {@link #parse} reads, in the largest exact unit. */
  public static String format(Duration d) {
    long s = d.toSeconds();
    if (s % (7 * 86400) == 0) {
      return s / (7 * 86400) + "w";
    }
    if (s % 86400 == 0) {
      return s / 86400 + "d";
    }
    if (s % 3600 == 0) {
      return s / 3600 + "h";
    }
    if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }
}
