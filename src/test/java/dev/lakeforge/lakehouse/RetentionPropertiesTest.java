package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.YamlSpecReader;
import org.junit.jupiter.api.Test;

/** The table properties a spec's {@code retention} becomes, and the spec properties it refuses. */
class RetentionPropertiesTest {

  private static TableSpec spec(String format, String retention, String properties) {
    return YamlSpecReader.parse(
        """
        name: shop.orders
        format: %s
        columns:
          - {name: id, type: bigint, nullable: false}
        retention: %s
        %s
        """
            .formatted(format, retention, properties == null ? "" : "properties: " + properties),
        TableSpec.class,
        "orders.yaml");
  }

  @Test
  void deltaKeepsLogAndRemovedFilesForTheRetentionDays() {
    assertThat(spec("delta", "{days: 45, versions: 3}", null).tableProperties())
        .containsEntry("delta.logRetentionDuration", "interval 45 days")
        .containsEntry("delta.deletedFileRetentionDuration", "interval 45 days");
  }

  @Test
  void deltaNeverKeepsLessThanItsThirtyDayDefault() {
    assertThat(spec("delta", "{days: 7, versions: 10}", null).tableProperties())
        .containsEntry("delta.logRetentionDuration", "interval 30 days")
        .containsEntry("delta.deletedFileRetentionDuration", "interval 30 days");
  }

  @Test
  void icebergExpiresByTheSameAgeAndCount() {
    assertThat(spec("iceberg", "{days: 45, versions: 12}", null).tableProperties())
        .containsEntry("history.expire.max-snapshot-age-ms", Long.toString(45L * 86_400_000L))
        .containsEntry("history.expire.min-snapshots-to-keep", "12")
        .doesNotContainKey("delta.logRetentionDuration");
  }

  @Test
  void aLongerDurationInTheSpecIsKept() {
    assertThat(
            spec("delta", "{days: 45}", "{delta.logRetentionDuration: 'interval 9 weeks'}")
                .tableProperties())
        .containsEntry("delta.logRetentionDuration", "interval 9 weeks")
        .containsEntry("delta.deletedFileRetentionDuration", "interval 45 days");
  }

  @Test
  void aShorterDeltaDurationInTheSpecIsRefused() {
    assertThatThrownBy(
            () -> spec("delta", "{days: 45}", "{delta.logRetentionDuration: 'interval 7 days'}"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining(
            "table shop.orders: property `delta.logRetentionDuration` is 'interval 7 days', shorter"
                + " than retention.days (45 days): the format would remove history the spec keeps."
                + " Set it to at least 'interval 45 days' or remove it (Lakeforge then sets it from"
                + " `retention`).");
    assertThatThrownBy(
            () ->
                spec(
                    "delta",
                    "{days: 2}",
                    "{delta.deletedFileRetentionDuration: 'interval 47 hours'}"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining(
            "property `delta.deletedFileRetentionDuration` is 'interval 47 hours'");
  }

  @Test
  void anUnreadableDeltaDurationIsRefused() {
    assertThatThrownBy(
            () -> spec("delta", "{days: 2}", "{delta.logRetentionDuration: 'interval 1 month'}"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining(
            "table shop.orders: property `delta.logRetentionDuration` is 'interval 1 month', which"
                + " is not a Delta interval in days, hours or weeks: write e.g. 'interval 30 days'.");
  }

  @Test
  void fewerIcebergSnapshotsOrAShorterAgeThanTheSpecKeepsAreRefused() {
    assertThatThrownBy(
            () ->
                spec(
                    "iceberg",
                    "{days: 1, versions: 5}",
                    "{history.expire.min-snapshots-to-keep: '2'}"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining(
            "table shop.orders: property `history.expire.min-snapshots-to-keep` is '2', fewer than"
                + " retention.versions (5): Iceberg would expire snapshots the spec keeps. Set it to"
                + " at least '5' or remove it (Lakeforge then sets it from `retention`).");
    assertThatThrownBy(
            () ->
                spec(
                    "iceberg",
                    "{days: 1, versions: 5}",
                    "{history.expire.max-snapshot-age-ms: '3600000'}"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("Set it to at least '86400000'");
  }
}
