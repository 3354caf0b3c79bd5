package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.testing.SparkTestBase;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Materialization against a brute-force oracle written here (plain Java over the source rows):
 * every aggregation, windows with events exactly on their edges, ties, nulls, filtered and null-key
 * rows, composite keys that would collide as strings; then re-runs, incremental runs and late data,
 * on both table formats.
 */
class FeatureMaterializeJobTest extends SparkTestBase {
  static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");
  private static final String SOURCE_COLUMNS =
      "[{name: user_id, type: bigint}, {name: region, type: string}, {name: ts, type: timestamp},"
          + " {name: amount, type: double}, {name: item, type: string}, {name: qty, type: int}]";

  /** One source row. */
  record Event(Long user, String region, Instant ts, Double amount, String item, Integer qty) {
    Row row() {
      return RowFactory.create(user, region, Timestamp.from(ts), amount, item, qty);
    }

    boolean counts() {
      return user != null && region != null && qty != null && qty > 0;
    }
  }

  static String featureSpec(TableFormat f, String ns) {
    return """
        name: act_%s
        keys: [user_id, region]
        source: {table: %s.events, timestamp: ts, filter: "qty > 0"}
        features:
          - {name: n_1h, agg: count, window: 1h}
          - {name: amounts_3h, agg: count, expr: amount, window: 3h}
          - {name: spend_3h, agg: sum, expr: amount, window: 3h}
          - {name: avg_2h, agg: avg, expr: amount, window: 2h}
          - {name: min_qty_3h, agg: min, expr: qty, window: 3h}
          - {name: last_ts, agg: max, expr: ts, window: 3h}
          - {name: items_2h, agg: count_distinct, expr: item, window: 2h}
          - {name: last_item_3h, agg: last, expr: item, window: 3h}
          - {name: hours_since, expr: "(unix_seconds(feature_ts) - unix_seconds(last_ts)) / 3600D"}
        output: {table: %s.act, format: %s}
        grain: hourly
        ttl: 2h
        """
        .formatted(f.label(), ns, ns, f.label());
  }

  static TableName sourceTable(TableFormat f, String ns) {
    TableSpec spec =
        YamlSpecReader.parse(
            "name: %s.events\nformat: %s\ncolumns: %s\n".formatted(ns, f.label(), SOURCE_COLUMNS),
            TableSpec.class,
            "test spec");
    new ApplyTablesJob(List.of(spec)).run(spark);
    return spec.name();
  }

  static void append(TableName table, List<Event> events) {
    Lakehouse lh = Lakehouse.open(spark);
    TableSpec spec = lh.spec(table);
    spark
        .createDataFrame(events.stream().map(Event::row).toList(), spec.schema())
        .write()
        .insertInto(lh.sqlName(spec));
  }

  /** Random events over 12 hours, with edge cases: on-the-hour times, ties, nulls, filtered. */
  static List<Event> generate(long seed, int n, int fromMinute, int toMinute) {
    Random rnd = new Random(seed);
    Object[][] entities = {{1L, "12"}, {11L, "2"}, {1L, "2"}, {2L, "x"}, {null, "x"}, {3L, null}};
    String[] items = {"a", "b", "c", null};
    List<Event> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Object[] e = entities[rnd.nextInt(entities.length)];
      int minute = fromMinute + rnd.nextInt(toMinute - fromMinute);
      if (rnd.nextInt(4) == 0) {
        minute = minute / 60 * 60; // exactly on a boundary: counts for that boundary, not the next
      }
      Instant ts = T0.plusSeconds(60L * minute);
      Double amount = rnd.nextInt(6) == 0 ? null : Math.round(rnd.nextDouble() * 10000) / 100.0;
      Integer qty =
          rnd.nextInt(8) == 0
              ? (rnd.nextBoolean() ? Integer.valueOf(0) : null)
              : Integer.valueOf(1 + rnd.nextInt(5));
      out.add(new Event((Long) e[0], (String) e[1], ts, amount, items[rnd.nextInt(4)], qty));
      if (rnd.nextInt(10) == 0) { // a tie: same entity, same time, another item
        out.add(new Event((Long) e[0], (String) e[1], ts, amount, items[rnd.nextInt(3)], qty));
      }
    }
    return out;
  }

  /**
   * The feature rows by brute force: for each entity and each boundary b in [from, to) with a
   * counted event in (b - 3h, b], every feature over its own window (b - w, b].
   */
  static Map<String, List<Object>> oracle(List<Event> all, Instant from, Instant to) {
    List<Event> events = all.stream().filter(Event::counts).toList();
    Map<String, List<Object>> out = new TreeMap<>();
    for (Instant b = from; b.isBefore(to); b = b.plus(Duration.ofHours(1))) {
      for (List<Object> entity :
          events.stream().map(e -> List.<Object>of(e.user(), e.region())).distinct().toList()) {
        List<Event> mine =
            events.stream()
                .filter(e -> e.user().equals(entity.get(0)) && e.region().equals(entity.get(1)))
                .toList();
        List<Event> w1 = in(mine, b, 1);
        List<Event> w2 = in(mine, b, 2);
        List<Event> w3 = in(mine, b, 3);
        if (w3.isEmpty()) {
          continue;
        }
        List<Double> amounts3 = w3.stream().map(Event::amount).filter(Objects::nonNull).toList();
        List<Double> amounts2 = w2.stream().map(Event::amount).filter(Objects::nonNull).toList();
        Instant lastTs = w3.stream().map(Event::ts).max(Comparator.naturalOrder()).orElseThrow();
        Event last =
            w3.stream()
                .filter(e -> e.item() != null)
                .max(Comparator.comparing(Event::ts).thenComparing(Event::item))
                .orElse(null);
        List<Object> row = new ArrayList<>();
        row.add((long) w1.size());
        row.add((long) amounts3.size());
        row.add(amounts3.isEmpty() ? null : amounts3.stream().mapToDouble(d -> d).sum());
        row.add(
            amounts2.isEmpty()
                ? null
                : amounts2.stream().mapToDouble(d -> d).average().orElseThrow());
        row.add(w3.stream().map(Event::qty).min(Comparator.naturalOrder()).orElseThrow());
        row.add(lastTs);
        row.add(w2.stream().map(Event::item).filter(Objects::nonNull).distinct().count());
        row.add(last == null ? null : last.item());
        row.add(Duration.between(lastTs, b).toSeconds() / 3600.0);
        out.put(key(entity.get(0), entity.get(1), b), row);
      }
    }
    return out;
  }

  private static List<Event> in(List<Event> events, Instant b, int hours) {
    Instant start = b.minus(Duration.ofHours(hours));
    return events.stream().filter(e -> e.ts().isAfter(start) && !e.ts().isAfter(b)).toList();
  }

  static String key(Object user, Object region, Instant b) {
    return user + "|" + region + "|" + b;
  }

  /** The feature table's rows with feature_ts in [from, to), as the oracle shapes them. */
  static Map<String, List<Object>> table(TableName table, Instant from, Instant to) {
    Lakehouse lh = Lakehouse.open(spark);
    Map<String, List<Object>> out = new TreeMap<>();
    for (Row r : spark.table(lh.sqlName(lh.spec(table))).collectAsList()) {
      Instant b = r.getTimestamp(2).toInstant();
      if (b.isBefore(from) || !b.isBefore(to)) {
        continue;
      }
      List<Object> row = new ArrayList<>();
      for (int i = 3; i < r.length(); i++) {
        Object v = r.get(i);
        row.add(v instanceof Timestamp t ? t.toInstant() : v);
      }
      out.put(key(r.get(0), r.get(1), b), row);
    }
    return out;
  }

  static void assertMatches(Map<String, List<Object>> actual, Map<String, List<Object>> expected) {
    assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
    expected.forEach(
        (k, want) -> {
          List<Object> got = actual.get(k);
          for (int i = 0; i < want.size(); i++) {
            Object w = want.get(i);
            Object g = got.get(i);
            if (w instanceof Double d && g instanceof Number n) {
              assertThat(n.doubleValue()).as("%s column %d", k, i).isCloseTo(d, within(1e-9));
            } else {
              assertThat(g).as("%s column %d", k, i).isEqualTo(w);
            }
          }
        });
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void matchesTheOracleAndReRunsIncrementalRunsAndLateDataKeepItRight(TableFormat f) {
    String ns = "fm_" + f.label();
    TableName source = sourceTable(f, ns);
    List<Event> events = new ArrayList<>(generate(7, 240, 0, 12 * 60));
    append(source, events);
    new ApplyFeatureSetsJob(
            List.of(FeatureSetDefinition.parse(featureSpec(f, ns), "act_" + f.label() + ".yaml")))
        .run(spark);
    Lakehouse lh = Lakehouse.open(spark);
    TableName out = TableName.parse(ns + ".act");
    String name = "act_" + f.label();
    Instant from = T0.plus(Duration.ofHours(2));
    Instant mid = T0.plus(Duration.ofHours(6));
    Instant to = T0.plus(Duration.ofHours(11));

    // A first range, then the same range again: nothing is written the second time.
    var first = FeatureMaterializeJob.builder(name).optFrom(from).optTo(mid).build().run(spark);
    assertThat(first.skipped()).isFalse();
    assertThat(first.rowsWritten()).isEqualTo(oracle(events, from, mid).size()).isPositive();
    assertMatches(table(out, from, to), oracle(events, from, mid));
    long version = lh.currentVersion(out);
    var again = FeatureMaterializeJob.builder(name).optFrom(from).optTo(mid).build().run(spark);
    assertThat(again.skipped()).isTrue();
    assertThat(lh.currentVersion(out)).isEqualTo(version);
    assertMatches(table(out, from, to), oracle(events, from, mid));

    // Incremental: no --from continues where the last run stopped.
    var next = FeatureMaterializeJob.builder(name).optTo(to).build().run(spark);
    assertThat(next.from()).isEqualTo(mid);
    assertMatches(table(out, from, to), oracle(events, from, to));

    // Late data inside the range is picked up by re-materializing it.
    List<Event> late = generate(8, 40, 3 * 60, 9 * 60);
    append(source, late);
    events.addAll(late);
    assertThat(table(out, from, to)).isNotEqualTo(oracle(events, from, to));
    var redo = FeatureMaterializeJob.builder(name).optFrom(from).optTo(to).build().run(spark);
    assertThat(redo.skipped()).isFalse();
    assertThat(redo.sourceVersion()).isEqualTo(lh.currentVersion(source));
    assertMatches(table(out, from, to), oracle(events, from, to));

    // The run recorded the source version read and per-feature statistics.
    var last = FeatureMaterializeJob.last(lh, name).orElseThrow();
    assertThat(last.runId()).isEqualTo(redo.runId().orElseThrow());
    assertThat(last.sourceVersion()).isEqualTo(redo.sourceVersion());
    assertThat(last.to()).isEqualTo(to);
    Map<String, List<Object>> expected = oracle(events, from, to);
    long nullSpend = expected.values().stream().filter(r -> r.get(2) == null).count();
    var spend = last.stats().get("spend_3h");
    assertThat(spend.count() + spend.nulls()).isEqualTo(expected.size());
    assertThat(spend.nulls()).isEqualTo(nullSpend);
    assertThat(last.stats().get("n_1h").min()).contains("0");
    assertThat(last.stats().get("last_item_3h").mean()).isEmpty();
  }

  @Test
  void theSourceScanIsBoundedByTheRangeAndTheLongestWindow() {
    TableName source = sourceTable(TableFormat.DELTA, "fm_scan");
    FeatureSetDefinition d =
        FeatureSetDefinition.parse(featureSpec(TableFormat.DELTA, "fm_scan"), "scan.yaml");
    Lakehouse lh = Lakehouse.open(spark);
    FeatureComputation c =
        FeatureComputation.check(d.spec(), d.source(), lh.spec(source).schema(), spark);
    long from = FeatureComputation.micros(Duration.ofHours(10));
    long to = FeatureComputation.micros(Duration.ofHours(20));
    spark.conf().set("spark.sql.maxMetadataStringLength", "10000");
    String plan;
    try {
      plan =
          c.bounded(spark.table(lh.sqlName(lh.spec(source))), from, to)
              .queryExecution()
              .executedPlan()
              .toString();
    } finally {
      spark.conf().unset("spark.sql.maxMetadataStringLength");
    }
    // (from - 3h, last boundary = to - 1h]: 07:00 exclusive to 19:00 inclusive
    assertThat(plan)
        .contains("PushedFilters")
        .contains("GreaterThan(ts,1970-01-01 07:00")
        .contains("LessThanOrEqual(ts,1970-01-01 19:00");
  }
}
