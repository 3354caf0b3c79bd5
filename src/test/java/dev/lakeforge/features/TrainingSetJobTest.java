package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.features.FeatureMaterializeJobTest.Event;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.testing.SparkTestBase;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Training sets from a materialized feature set (Iceberg) and a plain table (Delta) on a Delta
 * spine: the point-in-time rule against a brute-force oracle, lineage to the versions read, a
 * bit-for-bit rebuild from a recorded run after the inputs changed, idempotent rebuilds (on a Delta
 * and an Iceberg output), access refusals and bad specs that change nothing.
 */
class TrainingSetJobTest extends SparkTestBase {
  private static final Instant T0 = FeatureMaterializeJobTest.T0;
  private static final String NS = "ts_fs";
  private static TableName events;
  private static TableName spine;
  private static TableName risk;
  private static final TableName FEATURES = TableName.parse(NS + ".act");
  private static final TableName OUT = TableName.parse("ts_out.churn");

  private static final String SPEC =
      """
      name: ts_out.churn
      format: iceberg
      spine: {table: ts_x.spine, keys: [user_id, region], timestamp: as_of}
      features:
        - feature-set: act_iceberg
          select: {n_1h: n_1h, spend_3h: spend}
        - table: ts_x.risk
          keys: [user_id, region]
          timestamp: feature_ts
          ttl: 90m
          select: {score: risk_score}
      """;

  private static TableName table(String name, String columns, List<Row> rows) {
    TableSpec spec =
        YamlSpecReader.parse(
            "name: %s\nformat: delta\ncolumns: %s\n".formatted(name, columns),
            TableSpec.class,
            "test spec");
    new ApplyTablesJob(List.of(spec)).run(spark);
    append(spec.name(), rows);
    return spec.name();
  }

  private static void append(TableName t, List<Row> rows) {
    Lakehouse lh = Lakehouse.open(spark);
    spark.createDataFrame(rows, lh.spec(t).schema()).write().insertInto(lh.sqlName(lh.spec(t)));
  }

  private static Timestamp at(int minutes) {
    return Timestamp.from(T0.plusSeconds(60L * minutes));
  }

  private static List<Row> spineRows(int firstId, int n) {
    Object[][] entities = {{1L, "12"}, {11L, "2"}, {1L, "2"}, {2L, "x"}, {null, "x"}, {9L, "z"}};
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Object[] e = entities[i % entities.length];
      // every 7 minutes from 02:00: many rows fall exactly on a boundary or a ttl edge
      int minute = 120 + 7 * i % (9 * 60);
      if (i % 5 == 0) {
        minute = minute / 60 * 60;
      }
      out.add(RowFactory.create((long) firstId + i, e[0], e[1], at(minute), i % 2));
    }
    return out;
  }

  @BeforeAll
  static void inputs() {
    events = FeatureMaterializeJobTest.sourceTable(TableFormat.ICEBERG, NS);
    FeatureMaterializeJobTest.append(events, FeatureMaterializeJobTest.generate(11, 200, 0, 660));
    new ApplyFeatureSetsJob(
            List.of(
                FeatureSetDefinition.parse(
                    FeatureMaterializeJobTest.featureSpec(TableFormat.ICEBERG, NS), "act.yaml")))
        .run(spark);
    FeatureMaterializeJob.builder("act_iceberg")
        .optFrom(T0.plus(Duration.ofHours(1)))
        .optTo(T0.plus(Duration.ofHours(11)))
        .build()
        .run(spark);
    spine =
        table(
            "ts_x.spine",
            "[{name: id, type: bigint}, {name: user_id, type: bigint}, {name: region, type:"
                + " string}, {name: as_of, type: timestamp}, {name: label, type: int}]",
            spineRows(0, 60));
    List<Row> riskRows = new ArrayList<>();
    for (int m = 60; m < 600; m += 45) {
      riskRows.add(RowFactory.create(1L, "12", at(m), m / 10.0));
      riskRows.add(RowFactory.create(11L, "2", at(m + 30), m == 150 ? null : -m / 10.0));
    }
    risk =
        table(
            "ts_x.risk",
            "[{name: user_id, type: bigint}, {name: region, type: string}, {name: feature_ts,"
                + " type: timestamp}, {name: score, type: double}]",
            riskRows);
  }

  private static TrainingSetSpec spec(String yaml) {
    return YamlSpecReader.parse(yaml, TrainingSetSpec.class, "churn.yaml");
  }

  private static List<List<Object>> rows(TableName t) {
    Lakehouse lh = Lakehouse.open(spark);
    return spark.table(lh.sqlName(lh.spec(t))).collectAsList().stream()
        .map(r -> Arrays.asList(IntStream.range(0, r.length()).mapToObj(r::get).toArray()))
        .sorted(Comparator.comparing(r -> (Long) r.get(0)))
        .toList();
  }

  private static List<List<Object>> rowsAt(TableName t, long version) {
    return Lakehouse.open(spark).read(t, version).collectAsList().stream()
        .map(r -> Arrays.asList(IntStream.range(0, r.length()).mapToObj(r::get).toArray()))
        .sorted(Comparator.comparing(r -> (Long) r.get(0)))
        .toList();
  }

  /** The latest row of the entity with time in [t - ttl, t], by brute force; null if none. */
  private static Row latest(List<Row> rows, Row spineRow, int tsColumn, Duration ttl) {
    Timestamp t = spineRow.getTimestamp(3);
    if (spineRow.isNullAt(1) || spineRow.isNullAt(2)) {
      return null;
    }
    Row best = null;
    for (Row f : rows) {
      Instant ft = f.getTimestamp(tsColumn).toInstant();
      if (Objects.equals(f.get(0), spineRow.get(1))
          && Objects.equals(f.get(1), spineRow.get(2))
          && !ft.isAfter(t.toInstant())
          && !ft.isBefore(t.toInstant().minus(ttl))
          && (best == null || ft.isAfter(best.getTimestamp(tsColumn).toInstant()))) {
        best = f;
      }
    }
    return best;
  }

  private static List<List<Object>> oracle() {
    Lakehouse lh = Lakehouse.open(spark);
    List<Row> features = spark.table(lh.sqlName(lh.spec(FEATURES))).select("*").collectAsList();
    List<Row> riskRows = spark.table(lh.sqlName(lh.spec(risk))).collectAsList();
    List<List<Object>> out = new ArrayList<>();
    for (Row s : spark.table(lh.sqlName(lh.spec(spine))).collectAsList()) {
      List<Object> row =
          new ArrayList<>(Arrays.asList(IntStream.range(0, 5).mapToObj(s::get).toArray()));
      Row f = latest(features, s, 2, Duration.ofHours(2));
      row.add(f == null ? null : f.getAs("n_1h"));
      row.add(f == null ? null : f.getAs("spend_3h"));
      Row r = latest(riskRows, s, 2, Duration.ofMinutes(90));
      row.add(r == null ? null : r.getAs("score"));
      out.add(row);
    }
    out.sort(Comparator.comparing(r -> (Long) r.get(0)));
    return out;
  }

  @Test
  void joinsPointInTimeRecordsLineageAndRebuildsBitForBitFromARecordedRun() {
    Lakehouse lh = Lakehouse.open(spark);
    // An output of its own: another test's build of SPEC from the same inputs would make this one a
    // skipped rebuild, whatever order the tests run in.
    TableName out = TableName.parse("ts_out.churn_lineage");
    String yaml = SPEC.replace("name: ts_out.churn", "name: " + out);
    var first = TrainingSetJob.builder(spec(yaml)).optSource("churn.yaml").build().run(spark);
    List<List<Object>> built = rows(out);
    assertThat(built).hasSize(60).isEqualTo(oracle());
    assertThat(built.stream().filter(r -> r.get(5) != null).count()).isPositive();
    assertThat(built.stream().filter(r -> r.get(7) != null).count()).isPositive();
    assertThat(first.rowsWritten()).isEqualTo(60);
    assertThat(lh.runs().inputs(first.runId()))
        .containsExactlyInAnyOrder(
            Artifact.table(spine.toString(), lh.currentVersion(spine)),
            Artifact.table(FEATURES.toString(), lh.currentVersion(FEATURES)),
            Artifact.table(risk.toString(), lh.currentVersion(risk)));

    // The inputs change: more spine rows, a new risk row, late events re-materialized.
    append(spine, spineRows(1000, 12));
    append(risk, List.of(RowFactory.create(1L, "12", at(121), 99.0)));
    FeatureMaterializeJobTest.append(
        events, List.of(new Event(1L, "12", T0.plusSeconds(60 * 200), 5.0, "a", 1)));
    FeatureMaterializeJob.builder("act_iceberg")
        .optFrom(T0.plus(Duration.ofHours(1)))
        .optTo(T0.plus(Duration.ofHours(11)))
        .build()
        .run(spark);
    TrainingSetJob.builder(spec(yaml)).build().run(spark);
    assertThat(rows(out)).hasSize(72).isEqualTo(oracle()).isNotEqualTo(built);

    var rebuilt =
        TrainingSetJob.builder(spec(yaml)).optAsOfVersions(first.runId()).build().run(spark);
    assertThat(rows(out)).isEqualTo(built);
    assertThat(rebuilt.versionsRead()).isEqualTo(first.versionsRead());
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aRebuildFromTheSameSpecAndInputVersionsWritesNothing(TableFormat format) {
    Lakehouse lh = Lakehouse.open(spark);
    String f = format.name().toLowerCase(java.util.Locale.ROOT);
    TableName out = TableName.parse("ts_out.idem_" + f);
    TableName own =
        table(
            "ts_x.idem_spine_" + f,
            "[{name: id, type: bigint}, {name: user_id, type: bigint}, {name: region, type:"
                + " string}, {name: as_of, type: timestamp}, {name: label, type: int}]",
            spineRows(0, 12));
    String yaml =
        SPEC.replace("name: ts_out.churn", "name: " + out)
            .replace("format: iceberg", "format: " + f)
            .replace("table: ts_x.spine,", "table: " + own + ",");
    java.util.function.Function<String, TrainingSetJob.Result> build =
        y -> TrainingSetJob.builder(spec(y)).build().run(spark);

    var first = build.apply(yaml);
    assertThat(first.skipped()).as("the first build writes").isFalse();
    assertThat(first.rowsWritten()).isEqualTo(12);
    long v1 = lh.currentVersion(out);
    assertThat(first.tableVersion()).hasValue(v1);
    assertThat(first.batchId())
        .startsWith("training-set:" + out + ":spec-")
        .endsWith(
            String.format(
                ":%s@%d,%s@%d,%s@%d",
                own,
                lh.currentVersion(own),
                FEATURES,
                lh.currentVersion(FEATURES),
                risk,
                lh.currentVersion(risk)));
    int history = dev.lakeforge.lakehouse.TableInfo.history(spark, out).size();

    var again = build.apply(yaml);
    assertThat(again.skipped()).as("same spec, same input versions").isTrue();
    assertThat(again.rowsWritten()).isZero();
    assertThat(again.batchId()).isEqualTo(first.batchId());
    assertThat(again.tableVersion()).hasValue(v1);
    assertThat(lh.currentVersion(out)).as("no new version").isEqualTo(v1);
    assertThat(dev.lakeforge.lakehouse.TableInfo.history(spark, out)).hasSize(history);

    append(own, spineRows(100, 3));
    var appended = build.apply(yaml);
    assertThat(appended.skipped()).as("a new spine version rewrites").isFalse();
    assertThat(appended.rowsWritten()).isEqualTo(15);
    assertThat(appended.batchId()).isNotEqualTo(first.batchId());
    long v2 = lh.currentVersion(out);
    assertThat(v2).isNotEqualTo(v1);
    assertThat(lh.read(out, v1).count()).as("the first build, by time travel").isEqualTo(12);

    String shorter = yaml.replace("ttl: 90m", "ttl: 60m");
    var changed = build.apply(shorter);
    assertThat(changed.skipped()).as("a changed spec rewrites").isFalse();
    assertThat(changed.batchId()).isNotEqualTo(appended.batchId());
    assertThat(lh.currentVersion(out)).isNotEqualTo(v2);

    // Back to the first spec: its build is in the history but no longer the table's content.
    var back = build.apply(yaml);
    assertThat(back.skipped()).as("an older build is not the current one").isFalse();
    assertThat(back.batchId()).isEqualTo(appended.batchId());
    assertThat(rows(out)).isEqualTo(rowsAt(out, v2));
    assertThat(build.apply(yaml).skipped()).as("and now it is").isTrue();
  }

  @Test
  void refusesAPrincipalWithoutSelectOrModifyBeforeWritingAnything() {
    TrainingSetJob.builder(spec(SPEC)).build().run(spark);
    Lakehouse lh = Lakehouse.open(spark);
    long before = lh.currentVersion(OUT);
    long features = lh.currentVersion(FEATURES);
    spark.conf().set(Principal.SPARK_CONF, "analyst");
    try {
      assertThatThrownBy(() -> TrainingSetJob.builder(spec(SPEC)).build().run(spark))
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageContaining("principal analyst does not hold SELECT on table:" + spine);
      assertThatThrownBy(
              () ->
                  FeatureMaterializeJob.builder("act_iceberg")
                      .optFrom(T0)
                      .optTo(T0.plus(Duration.ofHours(3)))
                      .build()
                      .run(spark))
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageContaining("principal analyst does not hold SELECT on table:" + events);
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
    assertThat(lh.currentVersion(OUT)).isEqualTo(before);
    assertThat(lh.currentVersion(FEATURES)).isEqualTo(features);
  }

  @Test
  void badSpecsNameTheFileAndFieldAndChangeNothing() {
    TrainingSetJob.builder(spec(SPEC)).build().run(spark);
    Lakehouse lh = Lakehouse.open(spark);
    long before = lh.currentVersion(OUT);
    assertThatThrownBy(
            () ->
                TrainingSetJob.builder(
                        spec(
                            SPEC.replace(
                                "keys: [user_id, region], timestamp: as_of",
                                "keys: [user, region], timestamp: as_of")))
                    .optSource("churn.yaml")
                    .build()
                    .run(spark))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith(
            "churn.yaml: spine ts_x.spine: key column `user` is not one of its columns");
    assertThatThrownBy(
            () ->
                TrainingSetJob.builder(
                        spec(SPEC.replace("select: {score: risk_score}", "select: [score, n_1h]")))
                    .optSource("churn.yaml")
                    .build()
                    .run(spark))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("selected column `n_1h` is not one of its columns");
    assertThatThrownBy(
            () ->
                TrainingSetJob.builder(
                        spec(SPEC.replace("select: {score: risk_score}", "select: {score: n_1h}")))
                    .optSource("churn.yaml")
                    .build()
                    .run(spark))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: feature source ts_x.risk (features[1]): output column `n_1h` is also a"
                + " column of feature source ts_fs.act (feature set act_iceberg, features[0]):"
                + " rename one of them (in a spec: `select: {score: risk_n_1h}`).");
    assertThatThrownBy(
            () ->
                TrainingSetJob.builder(spec(SPEC.replace("act_iceberg", "act_nope")))
                    .optSource("churn.yaml")
                    .build()
                    .run(spark))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: `features[0].feature-set` names feature set act_nope, which is not"
                + " registered: register it (lakeforge features apply SPEC) or fix the name.");
    assertThatThrownBy(
            () ->
                TrainingSetJob.builder(spec(SPEC + "time-buckets: 1h\n"))
                    .optSource("churn.yaml")
                    .build()
                    .run(spark))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith("churn.yaml: ")
        .hasMessageContaining(
            "time buckets of 1h are shorter than the longest ttl (2h): use buckets of at least"
                + " 2h");
    assertThat(lh.currentVersion(OUT)).isEqualTo(before);
    TrainingSetJob.Result bucketed =
        TrainingSetJob.builder(spec(SPEC + "time-buckets: 6h\n")).build().run(spark);
    assertThat(bucketed.skipped())
        .as("time buckets change how the join runs, not its rows, so not the batch id")
        .isTrue();

    // Feature-set specs: checked against the source's schema before anything is created.
    String good = FeatureMaterializeJobTest.featureSpec(TableFormat.ICEBERG, NS);
    long features = lh.currentVersion(FEATURES);
    assertThatThrownBy(
            () -> apply(good.replace("expr: amount, window: 3h", "expr: item, window: 3h")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "act.yaml: feature set act_iceberg: `features[2].expr` of spend_3h is STRING, which"
                + " sum cannot aggregate: use a numeric column or cast it, e.g. CAST(x AS"
                + " DOUBLE).");
    assertThatThrownBy(() -> apply(good.replace("expr: qty, window: 3h", "expr: qtty, window: 3h")))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith(
            "act.yaml: feature set act_iceberg: `features[4].expr` 'qtty' does not resolve:");
    assertThatThrownBy(() -> apply(good.replace("window: 2h}", "window: 2 hours}")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "act.yaml: field `features[3]` `window` is '2 hours', which is not a duration: write"
                + " a whole number and a unit (s, m, h, d or w), e.g. 48h or 7d.");
    assertThatThrownBy(() -> apply(good.replace("agg: min", "agg: median")))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining(
            "`agg` is 'median', which is not an aggregation: use one of count, sum, avg, min,"
                + " max, count_distinct, last.");
    assertThatThrownBy(() -> apply(good.replace("timestamp: ts,", "timestamp: item,")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "act.yaml: feature set act_iceberg: `source.timestamp` `item` is STRING: it must be"
                + " TIMESTAMP. Name a TIMESTAMP column or add one to ts_fs.events.");
    assertThatThrownBy(() -> apply(good.replace("name: avg_2h", "name: n_1h")))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("`features[3].name` n_1h is used twice");
    assertThat(lh.currentVersion(FEATURES)).isEqualTo(features);
  }

  private static void apply(String yaml) {
    new ApplyFeatureSetsJob(List.of(FeatureSetDefinition.parse(yaml, "act.yaml"))).run(spark);
  }

  @Test
  void anAsOfRunThatDidNotReadTheInputsIsRefused() {
    var m =
        FeatureMaterializeJob.builder("act_iceberg")
            .optFrom(T0.plus(Duration.ofHours(1)))
            .optTo(T0.plus(Duration.ofHours(2)))
            .build()
            .run(spark);
    String run = m.runId().orElseThrow();
    assertThatThrownBy(
            () -> TrainingSetJob.builder(spec(SPEC)).optAsOfVersions(run).build().run(spark))
        .isInstanceOf(FeatureException.class)
        .hasMessageStartingWith(
            "--as-of-versions "
                + run
                + ": run "
                + run
                + " (features.materialize) did not read "
                + spine);
  }
}
