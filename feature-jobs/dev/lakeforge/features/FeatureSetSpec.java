package dev.lakeforge.features;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.TableFormat;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A feature set ({@code conf/features/*.yaml}): per entity, aggregations of a source table's events
 * over sliding windows, materialized at every grain boundary into a feature table keyed by the
 * entity keys and {@value #FEATURE_TS}. Validated when built (names, aggregations, windows that are
 * durations and whole multiples of the grain, a ttl); the column-level rules need the source's
 * schema and a session to analyse expressions: {@link #checkColumns}.
 *
 * <pre>{@code
 * name: customer_activity
 * keys: [customer_id]
 * source: {table: shop.orders, timestamp: order_ts, filter: "quantity > 0"}
 * features:
 *   - {name: orders_7d, agg: count, window: 7d}
 *   - {name: spend_30d, agg: sum, expr: amount, window: 30d}
 *   - {name: last_order_ts, agg: max, expr: order_ts, window: 90d}
 *   - {name: days_since_last_order, expr: "datediff(feature_ts, last_order_ts)"}
 * output: {table: features.customer_activity, format: delta}
 * grain: daily
 * ttl: 2d
 * }</pre>
 *
 * @param name the feature set's name (a lower-case identifier), how commands refer to it
 * @param description what it holds
 * @param keys the entity key columns of the source, in order (any simple types)
 * @param source the table of events and its event-time column
 * @param features the feature columns, in output order
 * @param output the feature table
 * @param grain how often values are computed: at every hour or day boundary (UTC)
 * @param ttl how long a feature row stays valid for a point-in-time join
 */
public record FeatureSetSpec(
    @JsonProperty("name") String name,
    @JsonProperty("description") Optional<String> description,
    @JsonProperty("keys") List<String> keys,
    @JsonProperty("source") Source source,
    @JsonProperty("features") List<Feature> features,
    @JsonProperty("output") Output output,
    @JsonProperty("grain") Grain grain,
    @JsonProperty("ttl") Duration ttl) {

  /** The feature table's timestamp column: the grain boundary the values are as of. */
  public static final String FEATURE_TS = "feature_ts";

  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

  /**
   * The events the features are computed from.
   *
   * @param table the source table
   * @param timestamp its event-time column (TIMESTAMP)
   * @param filter a Spark SQL predicate over its columns; rows failing it are ignored
   */
  public record Source(
      @JsonProperty("table") TableName table,
      @JsonProperty("timestamp") String timestamp,
      @JsonProperty("filter") Optional<String> filter) {
    public Source {
      if (table == null) {
        throw new SpecException("`table` is missing: name the source table (namespace.table).");
      }
      if (timestamp == null || timestamp.isBlank()) {
        throw new SpecException("`timestamp` is missing: name the source's event-time column.");
      }
      filter = filter == null ? Optional.empty() : filter.filter(f -> !f.isBlank());
    }
  }

  /**
   * The feature table.
   *
   * @param table its name
   * @param format delta or iceberg
   */
  public record Output(
      @JsonProperty("table") TableName table, @JsonProperty("format") TableFormat format) {
    public Output {
      if (table == null) {
        throw new SpecException("`table` is missing: name the feature table (namespace.table).");
      }
      if (format == null) {
        throw new SpecException("`format` is missing: add `format: delta` or `format: iceberg`.");
      }
    }
  }

  /** How often feature values are computed: at each hour or each day boundary, in UTC. */
  public enum Grain {
    HOURLY(Duration.ofHours(1)),
    DAILY(Duration.ofDays(1));

    private final Duration width;

    Grain(Duration width) {
      this.width = width;
    }

    /** The distance between two boundaries. */
    public Duration width() {
      return width;
    }

    @JsonCreator
    public static Grain parse(String text) {
      for (Grain g : values()) {
        if (g.label().equalsIgnoreCase(text == null ? "" : text.trim())) {
          return g;
        }
      }
      throw new SpecException(String.format("`grain` is '%s': use hourly or daily.", text));
    }

    @JsonValue
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The aggregations a feature may compute over its window. */
  public enum Agg {
    /**
     * Events in the window ({@code expr} absent), or non-null values of {@code expr}; 0 if none.
     */
    COUNT,
    /** Sum of the non-null values; null if none. */
    SUM,
    /** Mean of the non-null values; null if none. */
    AVG,
    /** Smallest non-null value; null if none. */
    MIN,
    /** Largest non-null value; null if none. */
    MAX,
    /** Distinct non-null values; 0 if none. */
    COUNT_DISTINCT,
    /**
     * The non-null value of the latest event in the window (events at the same time: the largest
     * value); null if none.
     */
    LAST;

    @JsonCreator
    public static Agg parse(String text) {
      for (Agg a : values()) {
        if (a.label().equalsIgnoreCase(text == null ? "" : text.trim())) {
          return a;
        }
      }
      throw new SpecException(
          String.format(
              "`agg` is '%s', which is not an aggregation: use one of %s.",
              text, Arrays.stream(values()).map(Agg::label).collect(Collectors.joining(", "))));
    }

    @JsonValue
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * One feature column: an aggregation ({@code agg} and {@code window}) of a column or expression
   * over the source's events in the window {@code (boundary - window, boundary]}; or, without
   * {@code agg}, a projection: an expression over the entity keys, {@value #FEATURE_TS} and the
   * aggregated features of the same row (e.g. {@code datediff(feature_ts, last_order_ts)}).
   *
   * @param name the column's name in the feature table
   * @param agg the aggregation; empty for a projection
   * @param expr a column or Spark SQL expression (over the source for an aggregation, over the
   *     feature row for a projection); may be left out for {@code count}
   * @param window how far back the aggregation looks, e.g. {@code 7d}; only with {@code agg}
   */
  public record Feature(
      @JsonProperty("name") String name,
      @JsonProperty("agg") Optional<Agg> agg,
      @JsonProperty("expr") Optional<String> expr,
      @JsonProperty("window") Optional<Duration> window) {
    public Feature {
      if (name == null || !IDENTIFIER.matcher(name).matches()) {
        throw new SpecException(
            String.format(
                "`name` '%s' is not a valid column name: use a lower-case identifier (a-z, 0-9,"
                    + " _), e.g. orders_7d.",
                name));
      }
      agg = agg == null ? Optional.empty() : agg;
      expr = expr == null ? Optional.empty() : expr.filter(e -> !e.isBlank());
      window = window == null ? Optional.empty() : window;
      if (agg.isPresent() && window.isEmpty()) {
        throw new SpecException(
            String.format(
                "feature %s: `window` is missing: say how far back %s looks, e.g. 7d.",
                name, agg.get().label()));
      }
      if (agg.isEmpty() && window.isPresent()) {
        throw new SpecException(
            String.format(
                "feature %s: `window` needs an `agg` (count, sum, avg, min, max, count_distinct,"
                    + " last); a projection without `agg` has no window.",
                name));
      }
      if (expr.isEmpty() && agg.map(a -> a != Agg.COUNT).orElse(true)) {
        throw new SpecException(
            String.format(
                "feature %s: `expr` is missing: name the column or expression to %s.",
                name, agg.map(Agg::label).orElse("project")));
      }
    }

    @JsonCreator
    static Feature create(
        @JsonProperty("name") String name,
        @JsonProperty("agg") Agg agg,
        @JsonProperty("expr") String expr,
        @JsonProperty("window") String window) {
      return new Feature(
          name,
          Optional.ofNullable(agg),
          Optional.ofNullable(expr),
          window == null ? Optional.empty() : Optional.of(Durations.parse(window, "window")));
    }

    /** Whether this feature aggregates events (else it projects the row). */
    public boolean aggregated() {
      return agg.isPresent();
    }
  }

  public FeatureSetSpec {
    if (name == null || !IDENTIFIER.matcher(name).matches()) {
      throw new SpecException(
          String.format(
              "field `name` is '%s': name the feature set with a lower-case identifier (a-z, 0-9,"
                  + " _), e.g. customer_activity.",
              name));
    }
    String what = "feature set " + name;
    description = description == null ? Optional.empty() : description;
    if (keys == null || keys.isEmpty()) {
      throw new SpecException(
          what + ": `keys` is missing or empty: list the entity key columns, e.g. [customer_id].");
    }
    keys = List.copyOf(keys);
    if (new HashSet<>(keys).size() < keys.size()) {
      throw new SpecException(
          String.format("%s: `keys` %s lists a column twice: list each key once.", what, keys));
    }
    if (keys.contains(FEATURE_TS)) {
      throw new SpecException(
          String.format(
              "%s: `keys` names `%s`, which is the feature table's own timestamp column: rename"
                  + " the key in the source.",
              what, FEATURE_TS));
    }
    if (source == null) {
      throw new SpecException(what + ": field `source` is missing: add {table, timestamp}.");
    }
    if (output == null) {
      throw new SpecException(what + ": field `output` is missing: add {table, format}.");
    }
    if (output.table().equals(source.table())) {
      throw new SpecException(
          String.format(
              "%s: `output.table` is the source table %s: name another table for the features.",
              what, source.table()));
    }
    if (grain == null) {
      throw new SpecException(what + ": field `grain` is missing: add `grain: hourly` or daily.");
    }
    if (ttl == null) {
      throw new SpecException(
          what + ": field `ttl` is missing: say how long a feature row stays valid, e.g. 2d.");
    }
    if (features == null || features.isEmpty()) {
      throw new SpecException(what + ": `features` is empty: declare at least one feature.");
    }
    features = List.copyOf(features);
    Set<String> names = new HashSet<>(keys);
    names.add(FEATURE_TS);
    long grainSeconds = grain.width().toSeconds();
    for (int i = 0; i < features.size(); i++) {
      Feature f = features.get(i);
      if (!names.add(f.name())) {
        throw new SpecException(
            String.format(
                "%s: `features[%d].name` %s is used twice (by another feature, a key or the"
                    + " feature table's `%s`): give each column its own name.",
                what, i, f.name(), FEATURE_TS));
      }
      if (f.window().isPresent() && f.window().get().toSeconds() % grainSeconds != 0) {
        throw new SpecException(
            String.format(
                "%s: `features[%d].window` of %s is %s, which is not a whole number of %s"
                    + " grains (%s): use a multiple of %s, or `grain: hourly`.",
                what,
                i,
                f.name(),
                Durations.format(f.window().get()),
                grain.label(),
                Durations.format(grain.width()),
                Durations.format(grain.width())));
      }
    }
    if (features.stream().noneMatch(Feature::aggregated)) {
      throw new SpecException(
          what
              + ": `features` has no aggregation: add at least one (e.g. {name: orders_7d, agg:"
              + " count, window: 7d}).");
    }
  }

  @JsonCreator
  static FeatureSetSpec create(
      @JsonProperty("name") String name,
      @JsonProperty("description") Optional<String> description,
      @JsonProperty("keys") List<String> keys,
      @JsonProperty("source") Source source,
      @JsonProperty("features") List<Feature> features,
      @JsonProperty("output") Output output,
      @JsonProperty("grain") Grain grain,
      @JsonProperty("ttl") String ttl) {
    return new FeatureSetSpec(
        name,
        description,
        keys,
        source,
        features,
        output,
        grain,
        ttl == null ? null : Durations.parse(ttl, "ttl"));
  }

  /** The longest window: how far before a range's first boundary the source must be read. */
  public Duration longestWindow() {
    return features.stream()
        .flatMap(f -> f.window().stream())
        .max(Duration::compareTo)
        .orElseThrow();
  }

  /** The names of the feature columns, in order. */
  public List<String> featureNames() {
    return features.stream().map(Feature::name).toList();
  }

  @Override
  public String toString() {
    return String.format(
        "feature set %s (%s -> %s, %s, ttl %s)",
        name, source.table(), output.table(), grain.label(), Durations.format(ttl));
  }
}
