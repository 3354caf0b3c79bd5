package dev.lakeforge.features;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lakeforge.catalog.FeatureSetRegistry;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.features.FeatureSource.Selected;
import dev.lakeforge.lakehouse.TableFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.apache.spark.sql.types.StructType;

/**
 * A training set ({@code lakeforge features training-set SPEC.yaml}): a spine table joined point in
 * time with feature tables (see {@link PointInTimeJoin} for the rule), written to a table.
 * Validated when built: the spine has keys and a timestamp, every feature source names either a
 * feature set or a table, a table source has one key per spine key, a timestamp and a ttl that is a
 * duration ({@code 48h}, {@code 7d}). Column-level rules need the tables' schemas: {@link
 * #checkColumns}.
 *
 * @param name the output table, {@code namespace.table}
 * @param format the output table's format
 * @param spine the rows to label
 * @param features the feature sources, in output column order
 * @param timeBuckets optional ({@code time-buckets: 8d}): split each entity's timeline into buckets
 *     of this width, at least the longest ttl, so that an entity with a large share of the rows is
 *     merged by several tasks ({@link PointInTimeJoin.Builder#optTimeBuckets}); it changes how the
 *     join runs, not its rows
 */
public record TrainingSetSpec(
    @JsonProperty("name") TableName name,
    @JsonProperty("format") TableFormat format,
    @JsonProperty("spine") SpineSpec spine,
    @JsonProperty("features") List<FeatureSpec> features,
    @JsonProperty("time-buckets") Optional<Duration> timeBuckets) {

  @JsonCreator
  static TrainingSetSpec create(
      @JsonProperty("name") TableName name,
      @JsonProperty("format") TableFormat format,
      @JsonProperty("spine") SpineSpec spine,
      @JsonProperty("features") List<FeatureSpec> features,
      @JsonProperty("time-buckets") String timeBuckets) {
    return new TrainingSetSpec(
        name,
        format,
        spine,
        features,
        timeBuckets == null
            ? Optional.empty()
            : Optional.of(Durations.parse(timeBuckets, "time-buckets")));
  }

  /**
   * The spine: a lakehouse table with entity keys and an event time.
   *
   * @param table the spine table
   * @param keys its entity key columns
   * @param timestamp its event-time column
   */
  public record SpineSpec(
      @JsonProperty("table") TableName table,
      @JsonProperty("keys") List<String> keys,
      @JsonProperty("timestamp") String timestamp) {
    public SpineSpec {
      if (table == null) {
        throw new SpecException(
            "`spine.table` is missing: name the spine table (namespace.table).");
      }
      if (keys == null || keys.isEmpty()) {
        throw new SpecException(
            "`spine.keys` is missing or empty: list the entity key columns, e.g. [customer_id].");
      }
      keys = List.copyOf(keys);
      if (new HashSet<>(keys).size() < keys.size()) {
        throw new SpecException(
            String.format("`spine.keys` %s lists a column twice: list each key once.", keys));
      }
      if (timestamp == null || timestamp.isBlank()) {
        throw new SpecException(
            "`spine.timestamp` is missing: name the spine's event-time column.");
      }
    }
  }

  /**
   * One feature source: a materialized feature set (keys, timestamp and ttl from its spec) or any
   * table of timestamped feature rows.
   *
   * @param featureSet the feature set's name, or empty for a table source
   * @param table the table, or empty for a feature-set source
   * @param keys the table's key columns, matched in order to the spine's keys
   * @param timestamp the table's feature-time column
   * @param ttl how long a feature row stays valid; a feature set's own ttl if empty
   * @param select the columns to bring, renamed or not; empty = all but the keys and timestamp
   */
  public record FeatureSpec(
      @JsonProperty("feature-set") Optional<String> featureSet,
      @JsonProperty("table") Optional<TableName> table,
      @JsonProperty("keys") List<String> keys,
      @JsonProperty("timestamp") Optional<String> timestamp,
      @JsonProperty("ttl") Optional<Duration> ttl,
      @JsonProperty("select") List<Selected> select) {

    public FeatureSpec {
      featureSet = featureSet == null ? Optional.empty() : featureSet;
      table = table == null ? Optional.empty() : table;
      keys = keys == null ? List.of() : List.copyOf(keys);
      timestamp = timestamp == null ? Optional.empty() : timestamp;
      ttl = ttl == null ? Optional.empty() : ttl;
      select = select == null ? List.of() : List.copyOf(select);
      if (featureSet.isPresent() == table.isPresent()) {
        throw new SpecException(
            "name either `feature-set:` (a materialized feature set) or `table:` (a table of"
                + " timestamped feature rows), not "
                + (table.isPresent() ? "both." : "neither."));
      }
      if (featureSet.isPresent() && (!keys.isEmpty() || timestamp.isPresent())) {
        throw new SpecException(
            String.format(
                "feature set %s: `keys` and `timestamp` come from the feature set's own spec:"
                    + " remove them.",
                featureSet.get()));
      }
      if (table.isPresent()) {
        String what = "table " + table.get();
        if (keys.isEmpty()) {
          throw new SpecException(
              what + ": `keys` is missing: list its key columns, matched in order to the spine's.");
        }
        if (timestamp.isEmpty()) {
          throw new SpecException(what + ": `timestamp` is missing: name its feature-time column.");
        }
        if (ttl.isEmpty()) {
          throw new SpecException(
              what + ": `ttl` is missing: say how long a feature row stays valid, e.g. 48h.");
        }
      }
      Set<String> names = new HashSet<>();
      for (Selected s : select) {
        if (!names.add(s.as())) {
          throw new SpecException(
              String.format("`select` names the output column `%s` twice.", s.as()));
        }
      }
    }

    @JsonCreator
    static FeatureSpec create(
        @JsonProperty("feature-set") String featureSet,
        @JsonProperty("table") TableName table,
        @JsonProperty("keys") List<String> keys,
        @JsonProperty("timestamp") String timestamp,
        @JsonProperty("ttl") String ttl,
        @JsonProperty("select") JsonNode select) {
      return new FeatureSpec(
          Optional.ofNullable(featureSet),
          Optional.ofNullable(table),
          keys,
          Optional.ofNullable(timestamp),
          ttl == null ? Optional.empty() : Optional.of(Durations.parse(ttl, "ttl")),
          selection(select));
    }

    /** The source's name in messages: its table or feature set. */
    public String source() {
      return table.map(TableName::toString).orElseGet(featureSet::get);
    }

    private static List<Selected> selection(JsonNode node) {
      List<Selected> out = new ArrayList<>();
      if (node == null || node.isNull()) {
        return out;
      }
      if (node.isArray()) {
        for (JsonNode c : node) {
          if (!c.isTextual()) {
            throw badSelect(node);
          }
          out.add(Selected.of(c.asText()));
        }
      } else if (node.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getValue().isTextual()) {
            throw badSelect(node);
          }
          out.add(new Selected(e.getKey(), e.getValue().asText()));
        }
      } else {
        throw badSelect(node);
      }
      return out;
    }

    private static SpecException badSelect(JsonNode node) {
      return new SpecException(
          String.format(
              "`select` is %s: write a list of columns ([f_amount, f_count]) or a mapping of"
                  + " columns to output names ({f_amount: risk_amount}).",
              node));
    }
  }

  public TrainingSetSpec {
    if (name == null) {
      throw new SpecException("field `name` is missing: name the output table (namespace.table).");
    }
    if (format == null) {
      throw new SpecException(
          String.format(
              "training set %s: field `format` is missing: add `format: delta` or"
                  + " `format: iceberg`.",
              name));
    }
    if (spine == null) {
      throw new SpecException(
          String.format(
              "training set %s: field `spine` is missing: add {table, keys, timestamp}.", name));
    }
    if (features == null || features.isEmpty()) {
      throw new SpecException(
          String.format(
              "training set %s: `features` is empty: add at least one feature source.", name));
    }
    features = List.copyOf(features);
    timeBuckets = timeBuckets == null ? Optional.empty() : timeBuckets;
    for (int i = 0; i < features.size(); i++) {
      FeatureSpec f = features.get(i);
      if (f.table().isPresent() && f.keys().size() != spine.keys().size()) {
        throw new SpecException(
            String.format(
                "training set %s: `features[%d].keys` %s has %d key(s) for the spine's %d %s:"
                    + " name one key per spine key, in the same order.",
                name, i, f.keys(), f.keys().size(), spine.keys().size(), spine.keys()));
      }
    }
  }

  /**
   * The sha256 of the spec's content: every field that decides the output's rows, as the record
   * writes it, so two specs that read the same (whatever their YAML layout or comments) hash the
   * same, and any change of a table, key, timestamp, ttl, selected column or output name changes
   * the hash. The time buckets are left out: they change how the join runs, not its rows.
   */
  public String sha256() {
    // the record's own text less that one component, so every other field, present or future,
    // counts
    return FeatureSetRegistry.sha256(toString().replace(", timeBuckets=" + timeBuckets, ""));
  }

  /**
   * A feature source with what a feature set supplies filled in: the table, its keys, timestamp and
   * ttl.
   *
   * @param field the source's field in the spec, e.g. {@code features[1]}
   * @param featureSet the feature set it names, if any
   * @param table the table to read
   * @param keys its key columns, matched in order to the spine's
   * @param timestamp its feature-time column
   * @param ttl how long a row stays valid
   * @param select the columns to bring (empty = all but keys and timestamp)
   */
  public record ResolvedSource(
      String field,
      Optional<String> featureSet,
      TableName table,
      List<String> keys,
      String timestamp,
      Duration ttl,
      List<Selected> select) {

    /** Names the source in messages: its table, and the feature set if any. */
    public String describe() {
      return table
          + featureSet
              .map(f -> " (feature set " + f + ", " + field + ")")
              .orElse(" (" + field + ")");
    }
  }

  /**
   * The feature sources, each feature set replaced by its table ({@link FeatureSetSpec#output()}),
   * keys, {@value FeatureSetSpec#FEATURE_TS} and ttl (the spec's own {@code ttl} wins); a key count
   * that differs from the spine's is an error.
   *
   * @param source names the spec in messages (e.g. its file)
   * @param featureSets the registered feature set of each name
   * @throws SpecException naming the file and the field
   */
  public List<ResolvedSource> resolve(
      String source, Function<String, Optional<FeatureSetSpec>> featureSets) {
    List<ResolvedSource> out = new ArrayList<>();
    for (int i = 0; i < features.size(); i++) {
      FeatureSpec f = features.get(i);
      String field = "features[" + i + "]";
      if (f.table().isPresent()) {
        out.add(
            new ResolvedSource(
                field,
                Optional.empty(),
                f.table().get(),
                f.keys(),
                f.timestamp().get(),
                f.ttl().get(),
                f.select()));
        continue;
      }
      String name = f.featureSet().get();
      FeatureSetSpec set =
          featureSets
              .apply(name)
              .orElseThrow(
                  () ->
                      new SpecException(
                          String.format(
                              "%s: `%s.feature-set` names feature set %s, which is not"
                                  + " registered: register it (lakeforge features apply SPEC) or"
                                  + " fix the name.",
                              source, field, name)));
      if (set.keys().size() != spine.keys().size()) {
        throw new SpecException(
            String.format(
                "%s: `%s.feature-set` %s has %d key(s) %s for the spine's %d %s: use a spine with"
                    + " the same entity keys, in the same order.",
                source,
                field,
                name,
                set.keys().size(),
                set.keys(),
                spine.keys().size(),
                spine.keys()));
      }
      out.add(
          new ResolvedSource(
              field,
              Optional.of(name),
              set.output().table(),
              set.keys(),
              FeatureSetSpec.FEATURE_TS,
              f.ttl().orElse(set.ttl()),
              f.select()));
    }
    return List.copyOf(out);
  }

  /**
   * Checks the spec's columns against the tables' schemas, before any Spark job: every key,
   * timestamp and selected column exists, timestamps are TIMESTAMP, key types match the spine's,
   * and no two output columns share a name. A source naming a feature set is an error (use {@link
   * #checkColumns(String, Function, Function)} with the registered feature sets).
   *
   * @param source names the spec in messages (e.g. its file)
   * @param schemas the schema of each table the spec reads; null for a table that does not exist
   * @throws SpecException naming the file, the feature source and the column
   */
  public void checkColumns(String source, Function<TableName, StructType> schemas) {
    checkColumns(source, schemas, name -> Optional.empty());
  }

  /**
   * {@link #checkColumns(String, Function)} with the feature sets a source may name.
   *
   * @param featureSets the registered feature set of each name
   */
  public void checkColumns(
      String source,
      Function<TableName, StructType> schemas,
      Function<String, Optional<FeatureSetSpec>> featureSets) {
    StructType spineSchema = schemaOf(source, "spine.table", spine.table(), schemas);
    List<JoinChecks.SourceShape> shapes = new ArrayList<>();
    for (ResolvedSource r : resolve(source, featureSets)) {
      shapes.add(
          new JoinChecks.SourceShape(
              r.describe(),
              schemaOf(
                  source,
                  r.field() + (r.featureSet().isPresent() ? ".feature-set" : ".table"),
                  r.table(),
                  schemas),
              r.keys(),
              r.timestamp(),
              r.select()));
    }
    try {
      JoinChecks.check(
          spine.table().toString(), spineSchema, spine.keys(), spine.timestamp(), shapes);
    } catch (FeatureException e) {
      throw new SpecException(source + ": " + e.getMessage(), e);
    }
  }

  private static StructType schemaOf(
      String source, String field, TableName table, Function<TableName, StructType> schemas) {
    StructType schema = schemas.apply(table);
    if (schema == null) {
      throw new SpecException(
          String.format(
              "%s: `%s` names table %s, which does not exist: create it (lakeforge apply) or fix"
                  + " the name.",
              source, field, table));
    }
    return schema;
  }
}
