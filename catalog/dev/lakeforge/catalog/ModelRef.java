package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reference to a model version: {@code name/version} (fixed) or {@code name@alias} (follows the
 * alias). {@link #toString()} parses back with {@link #parse}.
 *
 * @param name the model
 * @param version the version, or empty when {@code alias} is given
 * @param alias the alias, or empty when {@code version} is given
 */
public record ModelRef(String name, Optional<Integer> version, Optional<String> alias) {
  static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,127}");
  private static final Pattern REF = Pattern.compile("([^/@]+)(?:/([0-9]+)|@([^/@]+))");

  public ModelRef {
    Objects.requireNonNull(name, "name is null");
    checkName("model name", name);
    if (version.isPresent() == alias.isPresent()) {
      throw new SpecException(
          "A model reference names a version or an alias: churn/3 or churn@champion.");
    }
    version.ifPresent(
        v -> {
          if (v < 1) {
            throw new SpecException(
                String.format("Model %s: version %d is invalid; versions start at 1.", name, v));
          }
        });
    alias.ifPresent(a -> checkName("alias", a));
  }

  static void checkName(String what, String text) {
    if (!NAME.matcher(text).matches()) {
      throw new SpecException(
          String.format(
              "Invalid %s '%s': start with a-z, then up to 127 of a-z, 0-9, _ and - (e.g. churn, champion).",
              what, text));
    }
  }

  /** Parses {@code name/version} or {@code name@alias}. */
  public static ModelRef parse(String text) {
    Matcher m = REF.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new SpecException(
          String.format(
              "Invalid model reference '%s': write name/version (churn/3) or name@alias (churn@champion).",
              text));
    }
    return m.group(2) != null
        ? new ModelRef(m.group(1), Optional.of(Integer.parseInt(m.group(2))), Optional.empty())
        : new ModelRef(m.group(1), Optional.empty(), Optional.of(m.group(3)));
  }

  public static ModelRef of(String name, int version) {
    return new ModelRef(name, Optional.of(version), Optional.empty());
  }

  @Override
  public String toString() {
    return version.map(v -> name + "/" + v).orElseGet(() -> name + "@" + alias.orElseThrow());
  }
}
