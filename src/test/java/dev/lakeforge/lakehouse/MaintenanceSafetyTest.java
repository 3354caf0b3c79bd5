package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.testing.SparkTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What maintenance may delete, on real Delta and Iceberg tables: horizons measured from the job's
 * clock whatever the session time zone, never another table's or the platform's files, the format's
 * own cleanup told the spec's retention, and dry runs that change nothing on disk.
 */
class MaintenanceSafetyTest extends SparkTestBase {

  private static TableSpec spec(
      String name, TableFormat format, String retention, String location, String properties) {
    return YamlSpecReader.parse(
        """
        name: %s
        format: %s
        columns:
          - {name: id, type: bigint, nullable: false}
          - {name: what, type: string}
        primary-key: [id]
        retention: %s
        %s
        %s
        """
            .formatted(
                name,
                format.label(),
                retention,
                location == null ? "" : "location: " + location,
                properties == null ? "" : "properties: " + properties),
        TableSpec.class,
        "test spec");
  }

  private static TableSpec spec(String name, TableFormat format, String retention) {
    return spec(name, format, retention, null, null);
  }

  /** Overwrites the table {@code n} times with one row each ({@code id} = 0, 1, ...). */
  private static void overwrite(TableName table, int n) {
    for (int i = 0; i < n; i++) {
      Path csv =
          write(
              home.resolve("raw"),
              table.table() + "-" + i + ".csv",
              "id,what\n" + i + ",row " + i + "\n");
      IngestJob.builder(table, csv.toString(), SourceFormat.CSV)
          .optMode(WriteMode.OVERWRITE)
          .build()
          .run(spark);
    }
  }

  /** Every file under {@code dir} with its size, by path relative to {@code dir}. */
  private static Map<String, Long> files(Path dir) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    try (var s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        out.put(dir.relativize(p).toString(), Files.size(p));
      }
    }
    return out;
  }

  private static long parquetFiles(Path dir) throws IOException {
    return files(dir).keySet().stream()
        .filter(p -> p.endsWith(".parquet") && !p.contains("/."))
        .count();
  }

  private static Path location(TableName table) {
    String l = TableInfo.describe(spark, table).location();
    return l.startsWith("/") ? Path.of(l) : Path.of(java.net.URI.create(l));
  }

  /** Iceberg snapshots, oldest first: id and commit time. */
  private static List<Map.Entry<Long, Instant>> snapshots(TableName table) {
    List<Map.Entry<Long, Instant>> out = new ArrayList<>();
    for (Row r :
        spark
            .sql(
                "select snapshot_id, committed_at from iceberg."
                    + table
                    + ".snapshots order by committed_at")
            .collectAsList()) {
      out.add(Map.entry(r.getLong(0), r.getTimestamp(1).toInstant()));
    }
    return out;
  }

  /** Delta commit times by version, as DESCRIBE HISTORY (and so the VACUUM horizon) sees them. */
  private static Map<Long, Instant> deltaCommits(TableName table) {
    Map<Long, Instant> out = new TreeMap<>();
    for (Row r :
        spark.sql("DESCRIBE HISTORY " + table).select("version", "timestamp").collectAsList()) {
      out.put(r.getLong(0), r.getTimestamp(1).toInstant());
    }
    return out;
  }

  private static String read(TableFormat f, TableName table, String asOf) {
    return spark
        .sql("select id from " + f.sqlName(table, "iceberg") + asOf + " order by id")
        .collectAsList()
        .toString();
  }

  private static Map<String, String> properties(TableFormat f, TableName table) {
    Map<String, String> out = new TreeMap<>();
    for (Row r : spark.sql("SHOW TBLPROPERTIES " + f.sqlName(table, "iceberg")).collectAsList()) {
      out.put(r.getString(0), r.getString(1));
    }
    return out;
  }

  // ---- time zones -------------------------------------------------------------------------

  /**
   * The same maintenance, at the same instant, in a session west of UTC, east of UTC and at UTC
   * keeps the same snapshots and orphan files: the horizons passed to expire_snapshots and
   * remove_orphan_files are absolute instants.
   */
  @ParameterizedTest
  @ValueSource(strings = {"America/Los_Angeles", "Asia/Tokyo", "UTC"})
  void icebergHorizonsDoNotDependOnTheSessionTimeZone(String zone) throws Exception {
    TableName t = TableName.parse("tz.ice_" + zone.toLowerCase().replaceAll("[^a-z]", "_"));
    new ApplyTablesJob(List.of(spec(t.toString(), TableFormat.ICEBERG, "{days: 1, versions: 1}")))
        .run(spark);
    overwrite(t, 3);
    List<Map.Entry<Long, Instant>> snaps = snapshots(t);
    assertThat(snaps).hasSize(3);
    // "now" is one day after the midpoint of the first two commits: older_than (now - 1 day) falls
    // between them, so only the first snapshot is outside retention. Read 8 hours late (UTC-8)
    // the second would expire too; read 9 hours early (UTC+9) the first would stay.
    Instant first = snaps.get(0).getValue();
    Instant second = snaps.get(1).getValue();
    Instant olderThan = first.plus(Duration.between(first, second).dividedBy(2));
    Clock clock = Clock.fixed(olderThan.plus(Duration.ofDays(1)), ZoneOffset.UTC);
    // Orphans must also be 24 hours old by the system clock (remove_orphan_files insists), so the
    // orphan horizon is the system's now - 24 h: one orphan 26 h old, one 20 h old. Read 8 hours
    // late the young one would go; read 9 hours early the old one would stay.
    Instant wallClock = Instant.now();
    Path data = location(t).resolve("data");
    Path old = Files.writeString(data.resolve("orphan-old.parquet"), "not tracked");
    Path young = Files.writeString(data.resolve("orphan-young.parquet"), "not tracked");
    Files.setLastModifiedTime(old, FileTime.from(wallClock.minus(Duration.ofHours(26))));
    Files.setLastModifiedTime(young, FileTime.from(wallClock.minus(Duration.ofHours(20))));

    spark.conf().set("spark.sql.session.timeZone", zone);
    try {
      new MaintainJob(List.of(t), false, clock).run(spark);
    } finally {
      spark.conf().set("spark.sql.session.timeZone", "UTC");
    }

    assertThat(snapshots(t).stream().map(Map.Entry::getKey).toList())
        .containsExactly(snaps.get(1).getKey(), snaps.get(2).getKey());
    assertThat(old).doesNotExist();
    assertThat(young).exists();
    assertThat(read(TableFormat.ICEBERG, t, " VERSION AS OF " + snaps.get(1).getKey()))
        .isEqualTo("[[1]]");
  }

  // ---- keep-last-N with a clock -------------------------------------------------------------

  /**
   * Ten days later, {days: 1, versions: 2} keeps exactly the last two snapshots: the older ones and
   * their data files are removed, the second newest stays readable.
   */
  @Test
  void icebergKeepsTheLastVersionsAndRemovesTheRest() throws Exception {
    TableName t = TableName.parse("lastn.ice");
    new ApplyTablesJob(List.of(spec(t.toString(), TableFormat.ICEBERG, "{days: 1, versions: 2}")))
        .run(spark);
    overwrite(t, 4);
    List<Map.Entry<Long, Instant>> snaps = snapshots(t);
    Path loc = location(t);
    assertThat(parquetFiles(loc)).isEqualTo(4);
    Clock tenDaysLater =
        Clock.fixed(snaps.get(3).getValue().plus(Duration.ofDays(10)), ZoneOffset.UTC);

    new MaintainJob(List.of(t), false, tenDaysLater).run(spark);

    assertThat(snapshots(t).stream().map(Map.Entry::getKey).toList())
        .containsExactly(snaps.get(2).getKey(), snaps.get(3).getKey());
    assertThat(parquetFiles(loc)).isEqualTo(2);
    assertThat(read(TableFormat.ICEBERG, t, " VERSION AS OF " + snaps.get(2).getKey()))
        .isEqualTo("[[2]]");
    assertThat(read(TableFormat.ICEBERG, t, "")).isEqualTo("[[3]]");
  }

  /**
   * Delta's VACUUM runs on the job's clock (Lakeforge calls Delta's VACUUM command with it; SQL
   * VACUUM would read the system clock). Two days after the second newest commit, {days: 1,
   * versions: 2} vacuums exactly to that commit: the files of older versions go, the second newest
   * version stays readable, the log is untouched.
   */
  @Test
  void deltaKeepsTheLastVersionsAndRemovesTheRest() throws Exception {
    TableName t = TableName.parse("lastn.delta");
    new ApplyTablesJob(List.of(spec(t.toString(), TableFormat.DELTA, "{days: 1, versions: 2}")))
        .run(spark);
    overwrite(t, 4); // versions 1..4, ids 0..3; each overwrite removes the previous version's file
    Map<Long, Instant> commits = deltaCommits(t);
    assertThat(commits).containsOnlyKeys(0L, 1L, 2L, 3L, 4L);
    Path loc = location(t);
    Map<String, Long> log = new TreeMap<>(files(loc.resolve("_delta_log")));
    assertThat(parquetFiles(loc)).isEqualTo(4);
    // exactly 48 hours after version 3: the keep-last-2 horizon is version 3 to the millisecond
    Clock clock = Clock.fixed(commits.get(3L).plus(Duration.ofHours(48)), ZoneOffset.UTC);

    var report = new MaintainJob(List.of(t), false, clock).run(spark).get(0);

    assertThat(report.actions()).anyMatch(a -> a.contains("48 hours"));
    assertThat(parquetFiles(loc)).isEqualTo(2);
    assertThat(read(TableFormat.DELTA, t, " VERSION AS OF 3")).isEqualTo("[[2]]");
    assertThat(read(TableFormat.DELTA, t, "")).isEqualTo("[[3]]");
    assertThatThrownBy(() -> read(TableFormat.DELTA, t, " VERSION AS OF 2"))
        .hasMessageContaining(".parquet");
    assertThat(files(loc.resolve("_delta_log"))).containsAllEntriesOf(log);
  }

  // ---- dry runs ---------------------------------------------------------------------------

  /**
   * A dry run, even one that would bring the retention properties up to date and vacuum, leaves the
   * version, the live files and every file on disk as they were.
   */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void dryRunChangesNoVersionNoLiveFileAndNoByteOnDisk(TableFormat f) throws Exception {
    TableName t = TableName.parse("dry." + f.label());
    new ApplyTablesJob(List.of(spec(t.toString(), f, "{days: 0, versions: 1}"))).run(spark);
    overwrite(t, 3);
    String key =
        f == TableFormat.DELTA ? Retention.DELTA_LOG_RETENTION : Retention.ICEBERG_MIN_SNAPSHOTS;
    spark.sql("ALTER TABLE " + f.sqlName(t, "iceberg") + " UNSET TBLPROPERTIES ('" + key + "')");
    Lakehouse lh = Lakehouse.open(spark);
    TableOperations ops = lh.operations(f);
    Path loc = location(t);
    long version = ops.currentVersion(t);
    TableOperations.FileStats live = ops.fileStats(t);
    Map<String, Long> onDisk = files(loc);
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(30)), ZoneOffset.UTC);

    var report = new MaintainJob(List.of(t), true, later).run(spark).get(0);

    assertThat(report.actions()).anyMatch(a -> a.startsWith("retention properties would be set"));
    assertThat(ops.currentVersion(t)).isEqualTo(version);
    assertThat(ops.fileStats(t)).isEqualTo(live);
    assertThat(files(loc)).isEqualTo(onDisk);
    assertThat(properties(f, t)).doesNotContainKey(key);
    assertThat(report.bytesOnDiskAfter()).isEqualTo(report.bytesOnDiskBefore());
  }

  // ---- retention properties ---------------------------------------------------------------

  /**
   * Applying a spec sets the format's own retention properties from {@code retention}; re-applying
   * it with a longer retention updates them.
   */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void applyAndReapplySetTheFormatsRetentionProperties(TableFormat f) {
    TableName t = TableName.parse("props.applied_" + f.label());
    new ApplyTablesJob(List.of(spec(t.toString(), f, "{days: 45, versions: 3}"))).run(spark);
    assertThat(properties(f, t)).containsAllEntriesOf(expected(f, 45, 3));

    var again =
        new ApplyTablesJob(List.of(spec(t.toString(), f, "{days: 60, versions: 5}"))).run(spark);

    assertThat(again.tables().get(0).action()).isEqualTo(ApplyTablesJob.Action.EVOLVED);
    assertThat(properties(f, t)).containsAllEntriesOf(expected(f, 60, 5));
  }

  /** Maintenance brings a table that lacks the retention properties up to date. */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void maintenanceSetsMissingRetentionProperties(TableFormat f) {
    TableName t = TableName.parse("props.old_" + f.label());
    TableSpec spec = spec(t.toString(), f, "{days: 45, versions: 3}");
    new ApplyTablesJob(List.of(spec)).run(spark);
    String keys = String.join("', '", expected(f, 45, 3).keySet());
    spark.sql("ALTER TABLE " + f.sqlName(t, "iceberg") + " UNSET TBLPROPERTIES ('" + keys + "')");
    assertThat(properties(f, t))
        .doesNotContainKeys(expected(f, 45, 3).keySet().toArray(String[]::new));

    var report = new MaintainJob(List.of(t), false).run(spark).get(0);

    assertThat(report.actions()).anyMatch(a -> a.startsWith("retention properties set"));
    assertThat(properties(f, t)).containsAllEntriesOf(expected(f, 45, 3));
    var reapply = new ApplyTablesJob(List.of(spec)).run(spark);
    assertThat(reapply.tables().get(0).action()).isEqualTo(ApplyTablesJob.Action.UNCHANGED);
  }

  private static Map<String, String> expected(TableFormat f, int days, int versions) {
    return f == TableFormat.DELTA
        ? Map.of(
            Retention.DELTA_LOG_RETENTION,
            "interval " + days + " days",
            Retention.DELTA_DELETED_FILE_RETENTION,
            "interval " + days + " days")
        : Map.of(
            Retention.ICEBERG_MAX_SNAPSHOT_AGE,
            Long.toString(Duration.ofDays(days).toMillis()),
            Retention.ICEBERG_MIN_SNAPSHOTS,
            Integer.toString(versions));
  }

  // ---- maintenance that could delete other files ------------------------------------------

  /**
   * A table whose folder holds another registered table (registered past the apply-time check) is
   * not maintained: the job is refused naming both tables, their locations and the fix, and no file
   * under the folder changes (without the check, VACUUM would delete the inner table's data files
   * and remove_orphan_files would take them for orphans).
   */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void maintenanceRefusesATableWhoseFolderHoldsAnotherTable(TableFormat f) throws Exception {
    Path outerFolder = home.resolve("shared-" + f.label()).resolve("outer");
    TableName outer = TableName.parse("guard.outer_" + f.label());
    TableName inner = TableName.parse("guard.inner_" + f.label());
    new ApplyTablesJob(
            List.of(
                spec(outer.toString(), f, "{days: 0, versions: 1}", outerFolder.toString(), null)))
        .run(spark);
    overwrite(outer, 2);
    Path innerFolder = outerFolder.resolve("inner");
    spark.sql(
        "CREATE TABLE "
            + inner
            + " (id bigint NOT NULL, what string) USING delta LOCATION '"
            + innerFolder
            + "'");
    spark.sql("INSERT INTO " + inner + " VALUES (7, 'inner row')");
    Lakehouse lh = Lakehouse.open(spark);
    lh.registry()
        .put(
            new RegisteredTable(
                inner,
                "delta",
                innerFolder.toString(),
                YamlSpecReader.toJson(
                    spec(inner.toString(), TableFormat.DELTA, "{days: 0, versions: 1}"))),
            lh.principal());
    Map<String, Long> before = files(outerFolder);
    long version = lh.operations(f).currentVersion(outer);
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(30)), ZoneOffset.UTC);

    assertThatThrownBy(() -> new MaintainJob(List.of(outer), false, later).run(spark))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("Refusing to maintain")
        .hasMessageContaining("no table was changed")
        .hasMessageContaining(
            String.format(
                "  - table %s at file:%s: its location contains the location of table %s"
                    + " (file:%s), whose files it does not track. Move one of the two tables to a"
                    + " folder of its own (recreate it there and drop the old one) before"
                    + " maintaining %s.",
                outer, outerFolder.toRealPath(), inner, innerFolder.toRealPath(), outer));

    assertThat(files(outerFolder)).isEqualTo(before);
    assertThat(lh.operations(f).currentVersion(outer)).isEqualTo(version);
    assertThat(read(TableFormat.DELTA, inner, "")).isEqualTo("[[7]]");
  }

  /** A table registered at the model store is not maintained, and the models stay. */
  @Test
  void maintenanceRefusesATableAtTheModelStore() throws Exception {
    Platform platform = Platform.of(spark);
    Path store = Path.of(platform.modelStore());
    Path model = write(store.resolve("churn").resolve("1"), "model.onnx", "weights");
    TableName t = TableName.parse("guard.models");
    // the store is not empty, so the table is written there by path first, then named
    spark
        .sql("select 1L as id, 'x' as what")
        .write()
        .format("delta")
        .mode("append")
        .save(store.toString());
    spark.sql("CREATE TABLE " + t + " USING delta LOCATION '" + store + "'");
    Lakehouse lh = Lakehouse.open(spark);
    lh.registry()
        .put(
            new RegisteredTable(
                t,
                "delta",
                store.toString(),
                YamlSpecReader.toJson(
                    spec(t.toString(), TableFormat.DELTA, "{days: 0, versions: 1}"))),
            lh.principal());
    Map<String, Long> before = files(store);

    assertThatThrownBy(() -> new MaintainJob(List.of(t), false).run(spark))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining(
            String.format(
                "  - table %s at file:%s: its location is the model store (file:%s). Recreate the"
                    + " table in a folder of its own (e.g. the default %s/delta/guard/models), copy"
                    + " its data over and drop this one; maintenance will not run on it until then.",
                t, store.toRealPath(), store.toRealPath(), platform.warehouse()));

    assertThat(files(store)).isEqualTo(before);
    assertThat(model).hasContent("weights");
  }
}
