package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code sql --as-of} reads the same, UTC-correct rows whatever {@code spark.sql.session.timeZone}
 * says: a Delta and an Iceberg table are written in three batches, and fresh sessions in UTC, UTC−8
 * and UTC+9 read them as of instants between the batches. Also the accepted input forms and the
 * rules at both ends of a table's history.
 */
class AsOfTimeZoneTest extends SparkTestBase {
  private static final String SPEC =
      """
      name: tz.%s
      format: %s
      columns:
        - {name: id, type: bigint, nullable: false}
        - {name: v, type: int}
      primary-key: [id]
      """;
  private static final int BATCHES = 3;
  private static final String QUERY =
      "select 'delta' as t, id, v from tz.d union all select 'iceberg', id, v from iceberg.tz.i"
          + " order by t, id";
  private static final DateTimeFormatter UTC_TEXT =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

  /** {@code between.get(i)}: an instant after batch i+1 landed in both tables, before batch i+2. */
  private static final List<Instant> between = new ArrayList<>();

  /** {@code expected.get(i)}: the CSV output of {@link #QUERY} after batch i+1. */
  private static final List<String> expected = new ArrayList<>();

  @BeforeAll
  static void threeBatches() {
    Path specs = home.resolve("specs");
    write(specs, "d.yaml", SPEC.formatted("d", "delta"));
    write(specs, "i.yaml", SPEC.formatted("i", "iceberg"));
    write(specs, "never.yaml", SPEC.formatted("never", "iceberg"));
    ok("tables", "apply", specs.toString());
    Map<Long, Integer> rows = new TreeMap<>();
    List<Instant> deltaAt = new ArrayList<>();
    List<Instant> icebergAt = new ArrayList<>();
    for (int batch = 1; batch <= BATCHES; batch++) {
      // Batch b sets row 1 to b and adds row b+1: each version differs from the others.
      String csv = "id,v\n1," + batch + "\n" + (batch + 1) + "," + batch + "\n";
      Path file = write(home.resolve("raw"), "batch" + batch + ".csv", csv);
      for (String table : List.of("tz.d", "tz.i")) {
        ok("tables", "ingest", table, "--from", file.toString(), "--format", "csv");
      }
      deltaAt.add(newest("tz.d"));
      icebergAt.add(newest("tz.i"));
      rows.put(1L, batch);
      rows.put((long) batch + 1, batch);
      StringBuilder out = new StringBuilder("t,id,v\n");
      for (String t : List.of("delta", "iceberg")) {
        rows.forEach(
            (id, v) -> out.append(t).append(',').append(id).append(',').append(v).append('\n'));
      }
      expected.add(out.toString());
    }
    for (int i = 0; i < BATCHES - 1; i++) {
      Instant after = icebergAt.get(i);
      Instant before = deltaAt.get(i + 1);
      assertThat(after).isBefore(before);
      between.add(after.plusMillis((before.toEpochMilli() - after.toEpochMilli()) / 2));
    }
    between.add(icebergAt.get(BATCHES - 1).plusMillis(1));
  }

  private static Instant newest(String table) {
    return TableInfo.history(spark, TableName.parse(table)).get(0).timestamp();
  }

  private static CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  /** The zone of the session the CLI made last; null when it is gone or not made by the CLI. */
  private static String sessionZone;

  /**
   * Runs {@code sql} in a session whose time zone is {@code zone}, started for that zone as a new
   * process would start it.
   */
  private static CliRun sqlIn(String zone, String... sql) {
    return sqlAs(List.of(), zone, sql);
  }

  /** {@link #sqlIn} with the CLI options {@code root} (e.g. {@code --as someone}) first. */
  private static CliRun sqlAs(List<String> root, String zone, String... sql) {
    if (!zone.equals(sessionZone)) {
      stop();
      sessionZone = zone;
    }
    List<String> args = new ArrayList<>(root);
    args.addAll(
        List.of(
            "--spark-conf",
            "spark.sql.session.timeZone=" + zone,
            "--spark-conf",
            "spark.master=local[2]",
            "--spark-conf",
            "spark.sql.shuffle.partitions=2",
            "sql",
            "--format",
            "csv"));
    args.addAll(List.of(sql));
    return CliRun.run(home, args.toArray(String[]::new));
  }

  @ParameterizedTest
  @ValueSource(strings = {"UTC", "America/Los_Angeles", "Asia/Tokyo"})
  void asOfReadsTheSameUtcRowsInEverySessionZone(String zone) {
    for (int i = 0; i < BATCHES; i++) {
      CliRun r = sqlIn(zone, "--as-of", UTC_TEXT.format(between.get(i)), QUERY);
      assertThat(r.code()).as(r.toString()).isZero();
      assertThat(r.out()).as("as of %s UTC in %s", between.get(i), zone).isEqualTo(expected.get(i));
    }
  }

  @Test
  void anOffsetOrZIsHonouredAndTheSessionZoneIsNot() {
    Instant at = between.get(0);
    String tokyo =
        DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
            .withZone(ZoneId.of("Asia/Tokyo"))
            .format(at);
    assertThat(tokyo).endsWith("+09:00");
    CliRun r = sqlIn("America/Los_Angeles", "--as-of", tokyo, QUERY);
    assertThat(r.out()).as(r.toString()).isEqualTo(expected.get(0));
    String zulu = DateTimeFormatter.ISO_INSTANT.format(at);
    assertThat(sqlIn("Asia/Tokyo", "--as-of", zulu, QUERY).out()).isEqualTo(expected.get(0));
  }

  @Test
  void anInstantAfterTheLatestCommitReadsTheLatestVersion() {
    CliRun r = sqlIn("America/Los_Angeles", "--as-of", "2999-01-01", QUERY);
    assertThat(r.out()).as(r.toString()).isEqualTo(expected.get(BATCHES - 1));
    CliRun now =
        sqlIn("Asia/Tokyo", "--as-of", DateTimeFormatter.ISO_INSTANT.format(Instant.now()), QUERY);
    assertThat(now.out()).as(now.toString()).isEqualTo(expected.get(BATCHES - 1));
  }

  @Test
  void anIcebergTableNeverWrittenReadsAsEmpty() {
    CliRun r = sqlIn("UTC", "--as-of", "2999-01-01", "select count(*) as n from iceberg.tz.never");
    assertThat(r.out()).as(r.toString()).isEqualTo("n\n0\n");
  }

  @Test
  void anInstantBeforeTheEarliestVersionNamesTheTableAndItsFirstCommit() {
    stop();
    spark = newSession(home);
    sessionZone = null;
    List<HistoryEntry> iceberg = TableInfo.history(spark, TableName.parse("tz.i"));
    HistoryEntry firstIceberg = iceberg.get(iceberg.size() - 1);
    List<HistoryEntry> delta = TableInfo.history(spark, TableName.parse("tz.d"));
    HistoryEntry firstDelta = delta.get(delta.size() - 1);
    CliRun d = sqlIn("Asia/Tokyo", "--as-of", "2001-02-03 04:05:06", "select * from tz.d");
    assertThat(d.code()).as(d.toString()).isEqualTo(1);
    assertThat(d.err())
        .contains(
            "Cannot read tz.d as of 2001-02-03 04:05:06.000 UTC: its earliest readable version (0)"
                + " was committed at "
                + UTC_TEXT.format(firstDelta.timestamp())
                + " UTC. Give an --as-of at or after that moment.");
    CliRun i = sqlIn("UTC", "--as-of", "2001-02-03", "select * from iceberg.tz.i");
    assertThat(i.code()).as(i.toString()).isEqualTo(1);
    assertThat(i.err())
        .contains(
            "Cannot read tz.i as of 2001-02-03 00:00:00.000 UTC: its earliest readable version ("
                + firstIceberg.version()
                + ") was committed at "
                + UTC_TEXT.format(firstIceberg.timestamp())
                + " UTC.");
  }

  @Test
  void aPrincipalWhoMayNotReadTheTableIsRefusedAndNotToldItsHistory() {
    for (String at : List.of("2001-02-03", "2999-01-01")) {
      CliRun r = sqlAs(List.of("--as", "stranger"), "UTC", "--as-of", at, "select * from tz.d");
      assertThat(r.code()).as(r.toString()).isEqualTo(1);
      assertThat(r.err())
          .contains("stranger", "SELECT", "table:tz.d")
          .doesNotContain("earliest readable version");
      assertThat(r.out()).isEmpty();
    }
  }

  @Test
  void theAcceptedFormsAreUtcUnlessTheyCarryAnOffset() {
    Instant midnight = Instant.parse("2026-12-01T00:00:00Z");
    Instant utc = Instant.parse("2026-12-01T07:35:00Z");
    assertThat(AsOfQuery.parseInstant("2026-12-01")).isEqualTo(midnight);
    assertThat(AsOfQuery.parseInstant(" 2026-12-01 07:35:00 ")).isEqualTo(utc);
    assertThat(AsOfQuery.parseInstant("2026-12-01 07:35")).isEqualTo(utc);
    assertThat(AsOfQuery.parseInstant("2026-12-01T07:35:00")).isEqualTo(utc);
    assertThat(AsOfQuery.parseInstant("2026-12-01 07:35:00.25"))
        .isEqualTo(Instant.parse("2026-12-01T07:35:00.250Z"));
    assertThat(AsOfQuery.parseInstant("2026-12-01 07:35:00.123456"))
        .isEqualTo(Instant.parse("2026-12-01T07:35:00.123456Z"));
    assertThat(AsOfQuery.parseInstant("2026-12-01T07:35:00Z")).isEqualTo(utc);
    assertThat(AsOfQuery.parseInstant("2026-12-01 16:35:00+09:00")).isEqualTo(utc);
    assertThat(AsOfQuery.parseInstant("2026-11-30T23:35:00-08:00")).isEqualTo(utc);
    assertThat(AsOfQuery.parseInstant("2026-12-01T16:35+09")).isEqualTo(utc);
    for (String bad :
        List.of("yesterday", "2026-02-30", "2026-12-01 25:00:00", "2026-12-01 07:35:00 PST", "")) {
      assertThatThrownBy(() -> AsOfQuery.parseInstant(bad))
          .isInstanceOf(SpecException.class)
          .hasMessage(
              "--as-of '"
                  + bad.trim()
                  + "' is not a timestamp: write "
                  + AsOfQuery.FORMS
                  + ", e.g. '2026-11-24 10:00:00'. For a version, write VERSION AS OF <version>"
                  + " after the table in the query.");
    }
  }
}
