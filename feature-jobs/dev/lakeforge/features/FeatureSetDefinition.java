package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;

import dev.lakeforge.catalog.FeatureSetRegistry;
import dev.lakeforge.catalog.RegisteredFeatureSet;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.ColumnSpec;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A feature set's spec together with its text (what the catalog keeps, so that a recorded run can
 * tell by its sha256 whether the definition changed) and where it was read from (named in errors).
 *
 * @param spec the parsed spec
 * @param text the spec's YAML text
 * @param source where it came from: a file, or the catalog entry
 */
public record FeatureSetDefinition(FeatureSetSpec spec, String text, String source) {
  /** What specs are called in messages. */
  public static final String KIND = "feature-set spec";

  public FeatureSetDefinition {
    requireNonNull(spec, "spec is null");
    requireNonNull(text, "text is null");
    requireNonNull(source, "source is null");
  }

  /** Reads and validates one spec file. */
  public static FeatureSetDefinition read(Path file) {
    FeatureSetSpec spec = YamlSpecReader.read(file, FeatureSetSpec.class, KIND);
    try {
      return new FeatureSetDefinition(spec, Files.readString(file), file.toString());
    } catch (IOException e) {
      throw new SpecException(
          String.format("Cannot read %s %s: %s", KIND, file, e.getMessage()), e);
    }
  }

  /** Parses and validates spec {@code text}; {@code source} names it in errors. */
  public static FeatureSetDefinition parse(String text, String source) {
    return new FeatureSetDefinition(
        YamlSpecReader.parse(text, FeatureSetSpec.class, source), text, source);
  }

  /**
   * Reads a spec file, or every {@code *.yaml}/{@code *.yml} file of a folder (sorted by name), all
   * validated before anything runs; two specs with the same name are an error.
   */
  public static List<FeatureSetDefinition> load(Path path) {
    List<Path> files;
    if (Files.isDirectory(path)) {
      try (Stream<Path> s = Files.list(path)) {
        files =
            s.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                .sorted()
                .toList();
      } catch (IOException e) {
        throw new SpecException(
            String.format("Cannot list the folder %s: %s", path, e.getMessage()), e);
      }
      if (files.isEmpty()) {
        throw new SpecException(
            String.format("%s holds no *.yaml %s: add one or name a file.", path, KIND));
      }
    } else {
      files = List.of(path);
    }
    List<FeatureSetDefinition> out = new ArrayList<>();
    Map<String, String> seen = new java.util.HashMap<>();
    for (Path f : files) {
      FeatureSetDefinition d = read(f);
      String other = seen.putIfAbsent(d.spec().name(), d.source());
      if (other != null) {
        throw new SpecException(
            String.format(
                "%s: feature set %s is also declared in %s: give each feature set its own name.",
                d.source(), d.spec().name(), other));
      }
      out.add(d);
    }
    return List.copyOf(out);
  }

  /** The definition registered as {@code name}, if any. */
  public static Optional<FeatureSetDefinition> find(Lakehouse lh, String name) {
    return new FeatureSetRegistry(lh.catalog()).find(name).map(FeatureSetDefinition::of);
  }

  /** The definition registered as {@code name}; an error naming the fix if there is none. */
  public static FeatureSetDefinition registered(Lakehouse lh, String name) {
    return find(lh, name)
        .orElseThrow(
            () ->
                new FeatureException(
                    String.format(
                        "feature set %s is not registered: register it with lakeforge features"
                            + " apply SPEC (registered: %s).",
                        name,
                        new FeatureSetRegistry(lh.catalog())
                            .list().stream()
                                .map(RegisteredFeatureSet::name)
                                .reduce((a, b) -> a + ", " + b)
                                .orElse("none"))));
  }

  /** A registered entry's definition. */
  public static FeatureSetDefinition of(RegisteredFeatureSet r) {
    String source = "catalog entry of feature set " + r.name();
    return new FeatureSetDefinition(
        YamlSpecReader.parse(r.spec(), FeatureSetSpec.class, source), r.spec(), source);
  }

  /** The sha256 of the text, hex (what the catalog records). */
  public String sha256() {
    return FeatureSetRegistry.sha256(text);
  }

  /**
   * The spec of the feature table for the feature schema {@code output}: keys and {@code
   * feature_ts} (not nullable) as primary key, then the features.
   */
  public TableSpec tableSpec(StructType output) {
    List<ColumnSpec> columns = new ArrayList<>();
    for (StructField f : output.fields()) {
      boolean key = spec.keys().contains(f.name()) || f.name().equals(FeatureSetSpec.FEATURE_TS);
      columns.add(
          new ColumnSpec(
              f.name(),
              f.dataType().sql().toLowerCase(Locale.ROOT),
              !key,
              f.name().equals(FeatureSetSpec.FEATURE_TS)
                  ? Optional.of(
                      "the " + spec.grain().label() + " boundary the values are as of (UTC)")
                  : Optional.empty()));
    }
    List<String> primaryKey = new ArrayList<>(spec.keys());
    primaryKey.add(FeatureSetSpec.FEATURE_TS);
    return new TableSpec(
        spec.output().table(),
        spec.output().format(),
        Optional.of(
            spec.description()
                .orElse("Feature set " + spec.name() + " over " + spec.source().table() + ".")),
        columns,
        primaryKey,
        List.of(),
        Map.of(),
        null,
        Optional.empty());
  }
}
