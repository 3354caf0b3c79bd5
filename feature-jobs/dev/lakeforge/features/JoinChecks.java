package dev.lakeforge.features;

import dev.lakeforge.features.FeatureSource.Selected;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.VariantType;

/**
 * The column-level rules of a point-in-time join, checked on schemas alone (no Spark job): every
 * named column exists, timestamps are TIMESTAMP, each source has one key per spine key with the
 * same type, and no two output columns share a name.
 */
final class JoinChecks {
  /** Prefix of the join's own working columns; no input column may use it. */
  static final String RESERVED = "__pit_";

  /** A feature source as far as the checks need it. */
  record SourceShape(
      String name, StructType schema, List<String> keys, String timestamp, List<Selected> select) {}

  /**
   * What the checks resolved.
   *
   * @param output the join's output schema: the spine's columns, then each source's features
   * @param selections per source, the selected columns (the default selection made explicit)
   */
  record Checked(StructType output, List<List<Selected>> selections) {}

  private JoinChecks() {}

  static Checked check(
      String spineName,
      StructType spine,
      List<String> keys,
      String timestamp,
      List<SourceShape> s) {
    String spineWhat = "spine " + spineName;
    for (String k : keys) {
      StructField f = field(spineWhat, spine, k, "key column");
      if (f.dataType() instanceof MapType || f.dataType() instanceof VariantType) {
        throw new FeatureException(
            String.format(
                "%s: key column `%s` has type %s, which cannot identify an entity:"
                    + " use columns of simple types as keys.",
                spineWhat, k, f.dataType().sql()));
      }
    }
    if (keys.stream().map(k -> k.toLowerCase(Locale.ROOT)).distinct().count() < keys.size()) {
      throw new FeatureException(
          String.format("%s: `keys` %s lists a column twice.", spineWhat, keys));
    }
    checkTimestamp(spineWhat, spine, timestamp);
    Map<String, String> outputOwner = new LinkedHashMap<>();
    for (StructField f : spine.fields()) {
      if (f.name().startsWith(RESERVED)) {
        throw new FeatureException(
            String.format(
                "%s: column `%s` starts with '%s', which the join uses for its own columns:"
                    + " rename it.",
                spineWhat, f.name(), RESERVED));
      }
      outputOwner.put(f.name().toLowerCase(Locale.ROOT), spineWhat);
    }
    List<StructField> out = new ArrayList<>(Arrays.asList(spine.fields()));
    List<List<Selected>> selections = new ArrayList<>();
    for (SourceShape src : s) {
      String what = "feature source " + src.name();
      if (src.keys().size() != keys.size()) {
        throw new FeatureException(
            String.format(
                "%s: %d key column(s) %s for the spine's %d %s: name one key per spine key, in the"
                    + " same order.",
                what, src.keys().size(), src.keys(), keys.size(), keys));
      }
      for (int i = 0; i < keys.size(); i++) {
        StructField fk = field(what, src.schema(), src.keys().get(i), "key column");
        StructField sk = spine.apply(keys.get(i));
        if (!fk.dataType().sameType(sk.dataType())) {
          throw new FeatureException(
              String.format(
                  "%s: key column `%s` is %s but the spine's key `%s` is %s: cast one of them so"
                      + " that both have the same type.",
                  what, fk.name(), fk.dataType().sql(), sk.name(), sk.dataType().sql()));
        }
      }
      checkTimestamp(what, src.schema(), src.timestamp());
      List<Selected> select = src.select();
      if (select.isEmpty()) {
        select =
            Arrays.stream(src.schema().fieldNames())
                .filter(n -> !src.keys().contains(n) && !n.equals(src.timestamp()))
                .map(Selected::of)
                .toList();
        if (select.isEmpty()) {
          throw new FeatureException(
              String.format(
                  "%s: it has no columns besides its keys and timestamp: there is nothing to join.",
                  what));
        }
      }
      for (Selected sel : select) {
        StructField f = field(what, src.schema(), sel.column(), "selected column");
        String lower = sel.as().toLowerCase(Locale.ROOT);
        if (sel.as().isBlank() || sel.as().startsWith(RESERVED)) {
          throw new FeatureException(
              String.format(
                  "%s: output name '%s' for column `%s` is empty or starts with '%s':"
                      + " choose another name.",
                  what, sel.as(), sel.column(), RESERVED));
        }
        String owner = outputOwner.putIfAbsent(lower, what);
        if (owner != null) {
          throw new FeatureException(
              String.format(
                  "%s: output column `%s` is also a column of %s: rename one of them"
                      + " (in a spec: `select: {%s: %s}`).",
                  what, sel.as(), owner, sel.column(), suggest(src.name(), sel.as())));
        }
        out.add(new StructField(sel.as(), f.dataType(), true, f.metadata()));
      }
      selections.add(List.copyOf(select));
    }
    return new Checked(new StructType(out.toArray(StructField[]::new)), List.copyOf(selections));
  }

  private static String suggest(String source, String column) {
    String name = source.contains(" ") ? source.substring(0, source.indexOf(' ')) : source;
    String prefix = name.contains(".") ? name.substring(name.lastIndexOf('.') + 1) : name;
    return prefix.replaceAll("[^A-Za-z0-9_]", "_") + "_" + column;
  }

  private static void checkTimestamp(String what, StructType schema, String column) {
    StructField f = field(what, schema, column, "timestamp column");
    if (!f.dataType().sameType(DataTypes.TimestampType)) {
      throw new FeatureException(
          String.format(
              "%s: timestamp column `%s` is %s: it must be TIMESTAMP. Cast it"
                  + " (e.g. `CAST(%s AS TIMESTAMP)`) before the join.",
              what, column, f.dataType().sql(), column));
    }
  }

  private static StructField field(String what, StructType schema, String column, String role) {
    Optional<StructField> f =
        Arrays.stream(schema.fields()).filter(x -> x.name().equals(column)).findFirst();
    if (f.isEmpty()) {
      throw new FeatureException(
          String.format(
              "%s: %s `%s` is not one of its columns (%s).",
              what,
              role,
              column,
              Arrays.stream(schema.fieldNames()).collect(Collectors.joining(", "))));
    }
    return f.get();
  }
}
