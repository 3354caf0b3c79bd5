package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import java.util.Locale;
import java.util.Objects;

/**
 * Something a run reads or writes, at a version: a table ({@code shop.orders@3}), a model version
 * ({@code churn/2}) or a path of raw files. {@link #toString()} is how lineage prints it.
 *
 * @param kind what it is
 * @param name table name, model name or path
 * @param version table version / snapshot id, model version; empty for a path or "any version" in a
 *     lineage query
 */
public record Artifact(Kind kind, String name, String version) {
  /** Kinds of artifacts. */
  public enum Kind {
    TABLE,
    MODEL,
    PATH;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Kind parse(String label) {
      return valueOf(label.toUpperCase(Locale.ROOT));
    }
  }

  public Artifact {
    Objects.requireNonNull(kind, "kind is null");
    Objects.requireNonNull(name, "name is null");
    version = version == null ? "" : version;
  }

  public static Artifact table(String name, long version) {
    return new Artifact(Kind.TABLE, name, Long.toString(version));
  }

  public static Artifact model(String name, int version) {
    return new Artifact(Kind.MODEL, name, Integer.toString(version));
  }

  public static Artifact path(String path) {
    return new Artifact(Kind.PATH, path, "");
  }

  /**
   * Parses what a user names in {@code catalog lineage}: {@code shop.orders}, {@code
   * shop.orders@3}, {@code churn/2} (model), or a path with a scheme or a leading {@code /}.
   */
  public static Artifact parse(String text) {
    String t = text == null ? "" : text.trim();
    if (t.isEmpty()) {
      throw new SpecException(
          "Name a table (shop.orders or shop.orders@3), a model version (churn/2) or a path.");
    }
    if (t.startsWith("/") || t.matches("^[a-z0-9]+://.*")) {
      return path(t);
    }
    if (t.matches("[a-z][a-z0-9_-]*/[0-9]+")) {
      ModelRef ref = ModelRef.parse(t);
      return model(ref.name(), ref.version().orElseThrow());
    }
    String[] parts = t.split("@", 2);
    dev.lakeforge.core.TableName name = dev.lakeforge.core.TableName.parse(parts[0]);
    if (parts.length == 2 && !parts[1].matches("-?[0-9]+")) {
      throw new SpecException(
          String.format("'%s': the version after @ must be a number, e.g. shop.orders@3.", t));
    }
    return new Artifact(Kind.TABLE, name.toString(), parts.length == 2 ? parts[1] : "");
  }

  @Override
  public String toString() {
    return switch (kind) {
      case TABLE -> version.isEmpty() ? name : name + "@v" + version;
      case MODEL -> version.isEmpty() ? "model " + name : "model " + name + "/" + version;
      case PATH -> name;
    };
  }
}
