package dev.lakeforge.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.features.FeatureSource.Selected;
import dev.lakeforge.lakehouse.TableFormat;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** Parsing and validating training-set specs; column checks against schemas, without Spark. */
class TrainingSetSpecTest {
  private static final String SPEC =
      """
      name: training.churn
      format: delta
      spine:
        table: shop.churn_spine
        keys: [customer_id, region]
        timestamp: as_of
      features:
        - table: risk.scores
          keys: [k1, k2]
          timestamp: feature_ts
          ttl: 48h
          select: {f_amount: risk_amount, f_count: f_count}
        - table: shop.activity
          keys: [customer_id, region]
          timestamp: ts
          ttl: 7d
          select: [orders_7d]
      """;

  private static final Map<TableName, StructType> SCHEMAS =
      Map.of(
          TableName.parse("shop.churn_spine"),
          StructType.fromDDL("customer_id BIGINT, region STRING, as_of TIMESTAMP, label INT"),
          TableName.parse("risk.scores"),
          StructType.fromDDL(
              "k1 BIGINT, k2 STRING, feature_ts TIMESTAMP, f_amount DOUBLE, f_count BIGINT"),
          TableName.parse("shop.activity"),
          StructType.fromDDL(
              "customer_id BIGINT, region STRING, ts TIMESTAMP, orders_7d BIGINT, f_count INT"));

  private static TrainingSetSpec parse(String yaml) {
    return YamlSpecReader.parse(yaml, TrainingSetSpec.class, "churn.yaml");
  }

  @Test
  void readsTheIssueShapeWithRenamesAndDurations() {
    TrainingSetSpec spec = parse(SPEC);
    assertThat(spec.name()).isEqualTo(TableName.parse("training.churn"));
    assertThat(spec.format()).isEqualTo(TableFormat.DELTA);
    assertThat(spec.spine().keys()).containsExactly("customer_id", "region");
    TrainingSetSpec.FeatureSpec risk = spec.features().get(0);
    assertThat(risk.table()).contains(TableName.parse("risk.scores"));
    assertThat(risk.ttl()).contains(Duration.ofHours(48));
    assertThat(risk.select())
        .containsExactly(new Selected("f_amount", "risk_amount"), Selected.of("f_count"));
    assertThat(spec.features().get(1).ttl()).contains(Duration.ofDays(7));
    assertThat(spec.features().get(1).select()).containsExactly(Selected.of("orders_7d"));
    spec.checkColumns("churn.yaml", SCHEMAS::get);
  }

  @Test
  void aFeatureSetSourceTakesKeysAndTimestampFromItsOwnSpec() {
    TrainingSetSpec spec =
        parse(
            SPEC.replace(
                "  - table: shop.activity\n    keys: [customer_id, region]\n    timestamp: ts\n"
                    + "    ttl: 7d\n",
                "  - feature-set: customer_activity\n"));
    assertThat(spec.features().get(1).featureSet()).contains("customer_activity");
    assertThat(spec.features().get(1).ttl()).isEqualTo(Optional.empty());
    assertThatThrownBy(
            () ->
                parse(
                    SPEC.replace(
                        "  - table: shop.activity\n", "  - feature-set: customer_activity\n")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: field `features[1]` feature set customer_activity: `keys` and `timestamp` come from the feature set's own spec: remove them.");
  }

  @Test
  void unknownFieldsAreRejectedNamingTheField() {
    assertThatThrownBy(() -> parse(SPEC.replace("ttl: 48h", "tll: 48h")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: unknown field `tll` in `features[0]`. Valid fields here: feature-set, table, keys, timestamp, ttl, select. Fix the spelling or remove it.");
  }

  @Test
  void aTtlThatIsNotADurationIsRejected() {
    assertThatThrownBy(() -> parse(SPEC.replace("ttl: 48h", "ttl: 2 days")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: field `features[0]` `ttl` is '2 days', which is not a duration: write a whole number and a unit (s, m, h, d or w), e.g. 48h or 7d.");
  }

  @Test
  void timeBucketsAreAnOptionalDurationLeftOutOfTheSpecHash() {
    assertThat(parse(SPEC).timeBuckets()).isEmpty();
    TrainingSetSpec bucketed = parse(SPEC + "time-buckets: 8d\n");
    assertThat(bucketed.timeBuckets()).contains(Duration.ofDays(8));
    assertThat(bucketed.sha256())
        .as("buckets change how the join runs, not its rows: the same batch id")
        .isEqualTo(parse(SPEC).sha256());
    assertThat(parse(SPEC.replace("ttl: 7d", "ttl: 8d")).sha256())
        .isNotEqualTo(parse(SPEC).sha256());
    assertThatThrownBy(() -> parse(SPEC + "time-buckets: weekly\n"))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: `time-buckets` is 'weekly', which is not a duration: write a whole number and a unit (s, m, h, d or w), e.g. 48h or 7d.");
  }

  @Test
  void aTableSourceNeedsOneKeyPerSpineKey() {
    assertThatThrownBy(() -> parse(SPEC.replace("keys: [k1, k2]", "keys: [k1]")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: training set training.churn: `features[0].keys` [k1] has 1 key(s) for the spine's 2 [customer_id, region]: name one key per spine key, in the same order.");
  }

  @Test
  void aSourceNamesATableOrAFeatureSetNotBoth() {
    assertThatThrownBy(
            () ->
                parse(
                    SPEC.replace(
                        "  - table: risk.scores\n",
                        "  - table: risk.scores\n    feature-set: risk\n")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: field `features[0]` name either `feature-set:` (a materialized feature set) or `table:` (a table of timestamped feature rows), not both.");
    assertThatThrownBy(() -> parse(SPEC.replace("select: [orders_7d]", "select: 3")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: field `features[1]` `select` is 3: write a list of columns ([f_amount, f_count]) or a mapping of columns to output names ({f_amount: risk_amount}).");
  }

  @Test
  void unknownColumnsAndMismatchedKeyTypesFailBeforeAnySparkJob() {
    TrainingSetSpec unknown = parse(SPEC.replace("f_amount: risk_amount", "f_amt: risk_amount"));
    assertThatThrownBy(() -> unknown.checkColumns("churn.yaml", SCHEMAS::get))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: feature source risk.scores (features[0]): selected column `f_amt` is not one of its columns (k1, k2, feature_ts, f_amount, f_count).");
    TrainingSetSpec swapped = parse(SPEC.replace("keys: [k1, k2]", "keys: [k2, k1]"));
    assertThatThrownBy(() -> swapped.checkColumns("churn.yaml", SCHEMAS::get))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: feature source risk.scores (features[0]): key column `k2` is STRING but the spine's key `customer_id` is BIGINT: cast one of them so that both have the same type.");
    TrainingSetSpec missing = parse(SPEC.replace("risk.scores", "risk.score"));
    assertThatThrownBy(() -> missing.checkColumns("churn.yaml", SCHEMAS::get))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: `features[0].table` names table risk.score, which does not exist: create it (lakeforge apply) or fix the name.");
  }

  @Test
  void sameOutputColumnFromTwoSourcesIsAnErrorUnlessRenamed() {
    TrainingSetSpec clash = parse(SPEC.replace("select: [orders_7d]", "select: [f_count]"));
    assertThatThrownBy(() -> clash.checkColumns("churn.yaml", SCHEMAS::get))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "churn.yaml: feature source shop.activity (features[1]): output column `f_count` is also a column of feature source risk.scores (features[0]): rename one of them (in a spec: `select: {f_count: activity_f_count}`).");
    parse(SPEC.replace("select: [orders_7d]", "select: {f_count: activity_count}"))
        .checkColumns("churn.yaml", SCHEMAS::get);
  }

  @Test
  void durationsReadTheShortForms() {
    assertThat(Durations.parse("90s", "ttl")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Durations.parse("30m", "ttl")).isEqualTo(Duration.ofMinutes(30));
    assertThat(Durations.parse("2w", "ttl")).isEqualTo(Duration.ofDays(14));
    assertThat(Durations.format(Duration.ofHours(48))).isEqualTo("2d");
    assertThatThrownBy(() -> Durations.parse("0h", "ttl"))
        .hasMessage("`ttl` is '0h': it must be longer than zero, e.g. 48h.");
  }
}
