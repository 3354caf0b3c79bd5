package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.TableName;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Apply, evolve, ingest, delete, time travel and maintenance on real Delta and Iceberg tables. */
class TableLifecycleTest extends SparkTestBase {

  private static TableSpec spec(TableFormat format, String table, String extraColumns, String key) {
    return spec(format, table, extraColumns, key, 2);
  }

  private static TableSpec spec(
      TableFormat format, String table, String extraColumns, String key, int versionsKept) {
    String yaml =
        """
        name: %s
        format: %s
        description: customers of the shop
        columns:
          - {name: customer_id, type: bigint, nullable: false, comment: the key}
          - {name: name, type: string}
          - {name: score, type: int}
        %s
        primary-key: [%s]
        retention: {days: 0, versions: %d}
        """
            .formatted(table, format.label(), extraColumns, key, versionsKept);
    return dev.lakeforge.core.YamlSpecReader.parse(yaml, TableSpec.class, "test spec");
  }

  /** Applies a variant of the evolved spec and returns the assertion on the refusal. */
  private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertRefused(
      String table, TableFormat f, String keyColumn, String keyType, String key, String nameExtra) {
    String yaml =
        """
        name: %s
        format: %s
        columns:
          - {name: %s, type: %s, nullable: false}
          - {name: name, type: string%s}
          - {name: score, type: int}
          - {name: city, type: string}
        primary-key: %s
        retention: {days: 0, versions: 2}
        """
            .formatted(table, f.label(), keyColumn, keyType, nameExtra, key);
    TableSpec spec = dev.lakeforge.core.YamlSpecReader.parse(yaml, TableSpec.class, "variant");
    return assertThatThrownBy(() -> new ApplyTablesJob(List.of(spec)).run(spark))
        .hasMessageContaining("no table was changed");
  }

  private static String tableFor(TableFormat format, String name) {
    return "lf_" + format.label() + "." + name;
  }

  private static long count(TableFormat f, String table) {
    return spark.table(f.sqlName(TableName.parse(table), "iceberg")).count();
  }

  private static Path csv(String name, String text) {
    return write(home.resolve("raw"), name, text);
  }

  private static Path localPath(String location) {
    return location.startsWith("/") ? Path.of(location) : Path.of(java.net.URI.create(location));
  }

  private static long countFiles(Path dir, String suffix) throws java.io.IOException {
    try (var s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> p.toString().endsWith(suffix) && !p.getFileName().toString().startsWith("."))
          .count();
    }
  }

  /** Every file under {@code dir} with its size, by path. */
  private static java.util.Map<String, Long> filesAndSizes(Path dir) throws java.io.IOException {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    try (var s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        out.put(dir.relativize(p).toString(), Files.size(p));
      }
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void applyCreatesThenReapplyChangesNothing(TableFormat f) {
    String t = tableFor(f, "apply_once");
    var first = new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    assertThat(first.tables().get(0).action()).isEqualTo(ApplyTablesJob.Action.CREATED);
    long version = first.tables().get(0).version();

    var again = new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    assertThat(again.tables().get(0).action()).isEqualTo(ApplyTablesJob.Action.UNCHANGED);
    assertThat(again.tables().get(0).version()).isEqualTo(version);
    assertThat(TableInfo.history(spark, TableName.parse(t)))
        .hasSize(f == TableFormat.DELTA ? 1 : 0);
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void addingANullableColumnEvolvesTheTable(TableFormat f) {
    String t = tableFor(f, "evolve");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    var evolved =
        new ApplyTablesJob(
                List.of(
                    spec(
                        f, t, "  - {name: city, type: string, comment: home city}", "customer_id")))
            .run(spark);
    assertThat(evolved.tables().get(0).action()).isEqualTo(ApplyTablesJob.Action.EVOLVED);
    assertThat(evolved.tables().get(0).changes()).contains("add column `city` STRING");
    assertThat(spark.table(f.sqlName(TableName.parse(t), "iceberg")).columns())
        .containsExactly("customer_id", "name", "score", "city");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void breakingChangesAreRefusedAndChangeNothing(TableFormat f) {
    String t = tableFor(f, "breaking");
    new ApplyTablesJob(List.of(spec(f, t, "  - {name: city, type: string}", "customer_id")))
        .run(spark);
    TableName name = TableName.parse(t);
    long version = TableInfo.describe(spark, name).version();

    // dropping `city`, and at the same time adding a column: nothing at all may happen
    assertThatThrownBy(
            () ->
                new ApplyTablesJob(
                        List.of(spec(f, t, "  - {name: zip, type: string}", "customer_id")))
                    .run(spark))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("no table was changed")
        .hasMessageContaining("column `city` is in the table but not in the spec");
    assertRefused(t, f, "customer_id", "int", "[customer_id]", "")
        .hasMessageContaining(
            "column `customer_id` changes type from BIGINT to INT: only widening is allowed");
    assertRefused(t, f, "customer_id", "bigint", "[name]", ", nullable: false")
        .hasMessageContaining("primary-key changes from (customer_id) to (name)")
        .hasMessageContaining("column `name` becomes nullable: false");

    TableInfo after = TableInfo.describe(spark, name);
    assertThat(after.version()).isEqualTo(version);
    assertThat(after.schema().fieldNames()).containsExactly("customer_id", "name", "score", "city");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void widenTypeIsAllowed(TableFormat f) {
    String t = tableFor(f, "widen");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    String wider =
        """
        name: %s
        format: %s
        description: customers of the shop
        columns:
          - {name: customer_id, type: bigint, nullable: false, comment: the key}
          - {name: name, type: string}
          - {name: score, type: bigint}
        primary-key: [customer_id]
        retention: {days: 0, versions: 2}
        """
            .formatted(t, f.label());
    var r =
        new ApplyTablesJob(
                List.of(dev.lakeforge.core.YamlSpecReader.parse(wider, TableSpec.class, "wider")))
            .run(spark);
    assertThat(r.tables().get(0).changes())
        .containsExactly("widen column `score` from INT to BIGINT");
    assertThat(
            spark
                .table(f.sqlName(TableName.parse(t), "iceberg"))
                .schema()
                .apply("score")
                .dataType()
                .sql())
        .isEqualTo("BIGINT");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void mergeUpsertsOnThePrimaryKey(TableFormat f) {
    String t = tableFor(f, "merge");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    TableName name = TableName.parse(t);
    Path first = csv(f + "-m1.csv", "customer_id,name,score\n1,ann,10\n2,bob,20\n3,cy,30\n");
    Path second = csv(f + "-m2.csv", "customer_id,name,score\n2,bob,25\n4,dee,40\n");

    var r1 = IngestJob.builder(name, first.toString(), SourceFormat.CSV).build().run(spark);
    var r2 = IngestJob.builder(name, second.toString(), SourceFormat.CSV).build().run(spark);

    assertThat(r1.rowsWritten()).isEqualTo(3);
    assertThat(r2.rowsWritten()).isEqualTo(2);
    assertThat(r2.versionAfter()).isNotEqualTo(r2.versionBefore());
    List<Row> rows =
        spark
            .sql(
                "select customer_id, name, score from "
                    + f.sqlName(name, "iceberg")
                    + " order by customer_id")
            .collectAsList();
    assertThat(rows.stream().map(Row::toString))
        .containsExactly("[1,ann,10]", "[2,bob,25]", "[3,cy,30]", "[4,dee,40]");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void rerunningABatchIdWritesNothing(TableFormat f) {
    String t = tableFor(f, "batch");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    TableName name = TableName.parse(t);
    Path file = csv(f + "-b.csv", "customer_id,name,score\n1,ann,10\n2,bob,20\n");
    IngestJob job =
        IngestJob.builder(name, file.toString(), SourceFormat.CSV)
            .optMode(WriteMode.APPEND)
            .optBatchId("2026-11-24")
            .build();

    var first = job.run(spark);
    var second = job.run(spark);

    assertThat(first.skipped()).isFalse();
    assertThat(first.rowsWritten()).isEqualTo(2);
    assertThat(second.skipped()).isTrue();
    assertThat(second.rowsWritten()).isZero();
    assertThat(second.versionAfter()).isEqualTo(first.versionAfter());
    assertThat(count(f, t)).isEqualTo(2);
    assertThat(TableInfo.history(spark, name).get(0).batchId()).contains("2026-11-24");

    // another batch id is a new batch
    var other =
        IngestJob.builder(name, file.toString(), SourceFormat.CSV)
            .optMode(WriteMode.APPEND)
            .optBatchId("2026-11-25")
            .build()
            .run(spark);
    assertThat(other.rowsWritten()).isEqualTo(2);
    assertThat(count(f, t)).isEqualTo(4);
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void deleteAndTimeTravel(TableFormat f) {
    String t = tableFor(f, "del");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    TableName name = TableName.parse(t);
    Path file = csv(f + "-d.csv", "customer_id,name,score\n1,ann,10\n2,bob,20\n3,cy,30\n");
    var ingest = IngestJob.builder(name, file.toString(), SourceFormat.CSV).build().run(spark);

    var deleted = new DeleteJob(name, "score >= 20").run(spark);

    assertThat(deleted.rowsDeleted()).isEqualTo(2);
    String sqlName = f.sqlName(name, "iceberg");
    assertThat(spark.table(sqlName).count()).isEqualTo(1);
    assertThat(
            spark
                .sql("select count(*) from " + sqlName + " VERSION AS OF " + ingest.versionAfter())
                .first()
                .getLong(0))
        .isEqualTo(3);
    String ts =
        TableInfo.history(spark, name).stream()
            .filter(h -> h.version() == ingest.versionAfter())
            .findFirst()
            .orElseThrow()
            .timestamp()
            .toString();
    assertThat(
            spark
                .sql("select count(*) from " + sqlName + " TIMESTAMP AS OF '" + ts + "'")
                .first()
                .getLong(0))
        .isEqualTo(3);

    assertThatThrownBy(() -> new DeleteJob(name, "no_such_column = 1").run(spark))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining(
            "Cannot delete from " + t + ": the predicate \"no_such_column = 1\" is not valid");
    assertThat(spark.table(sqlName).count()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void badRowsFailTheIngestOrGoToTheBadRowsPath(TableFormat f) throws Exception {
    String t = tableFor(f, "bad");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id"))).run(spark);
    TableName name = TableName.parse(t);
    Path file =
        csv(f + "-bad.csv", "customer_id,name,score\n1,ann,10\nx7,bob,20\n3,cy,lots\n4,dee,40\n");

    assertThatThrownBy(
            () -> IngestJob.builder(name, file.toString(), SourceFormat.CSV).build().run(spark))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("2 of 4 rows do not fit the table")
        .hasMessageContaining("is not a valid")
        .hasMessageContaining("Nothing was written");
    assertThat(count(f, t)).isZero();

    Path bad = home.resolve("bad-" + f);
    var r =
        IngestJob.builder(name, file.toString(), SourceFormat.CSV)
            .optBadRowsPath(bad.toString())
            .build()
            .run(spark);
    assertThat(r.rowsRejected()).isEqualTo(2);
    assertThat(r.rowsWritten()).isEqualTo(2);
    assertThat(count(f, t)).isEqualTo(2);
    List<Row> rejected = spark.read().json(bad.toString()).orderBy("name").collectAsList();
    assertThat(rejected).hasSize(2);
    assertThat(rejected.get(0).<String>getAs(IngestJob.ERROR_COLUMN))
        .isEqualTo("column `customer_id`: value 'x7' is not a valid BIGINT");
  }

  /** Four overwrites, one row each; returns the table version after each. */
  private long[] overwriteFourTimes(TableFormat f, TableName name) {
    long[] versions = new long[4];
    for (int i = 0; i < 4; i++) {
      Path file =
          csv(
              f + "-" + name.table() + i + ".csv",
              "customer_id,name,score\n" + i + ",n" + i + "," + i + "\n");
      versions[i] =
          IngestJob.builder(name, file.toString(), SourceFormat.CSV)
              .optMode(WriteMode.OVERWRITE)
              .build()
              .run(spark)
              .versionAfter();
    }
    return versions;
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void maintenanceDryRunRemovesNothingAndRealRunKeepsOnlyTheCurrentVersion(TableFormat f)
      throws Exception {
    String t = tableFor(f, "maint_one");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id", 1))).run(spark);
    TableName name = TableName.parse(t);
    overwriteFourTimes(f, name);
    Path location = localPath(TableInfo.describe(spark, name).location());
    assertThat(countFiles(location, ".parquet")).isEqualTo(4);
    TableOperations ops = Lakehouse.open(spark).operations(f);
    long version = ops.currentVersion(name);
    TableOperations.FileStats live = ops.fileStats(name);
    java.util.Map<String, Long> onDisk = filesAndSizes(location);

    var dry = new MaintainJob(List.of(name), true).run(spark);
    assertThat(dry.get(0).actions()).anyMatch(a -> a.contains("would"));
    assertThat(ops.currentVersion(name)).isEqualTo(version);
    assertThat(ops.fileStats(name)).isEqualTo(live);
    assertThat(filesAndSizes(location)).isEqualTo(onDisk);

    var real = new MaintainJob(List.of(name), false).run(spark);
    // retention {versions: 1, days: 0}: only the current version's single data file stays
    assertThat(countFiles(location, ".parquet")).isEqualTo(1);
    assertThat(real.get(0).filesAfter()).isEqualTo(1);
    assertThat(real.get(0).bytesFreed()).isPositive();
    String sqlName = f.sqlName(name, "iceberg");
    assertThat(spark.sql("select customer_id from " + sqlName).collectAsList().toString())
        .isEqualTo("[[3]]");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void maintenanceKeepsTheRetainedVersionsReadable(TableFormat f) throws Exception {
    String t = tableFor(f, "maint_two");
    new ApplyTablesJob(List.of(spec(f, t, "", "customer_id", 2))).run(spark);
    TableName name = TableName.parse(t);
    long[] versions = overwriteFourTimes(f, name);
    Path location = localPath(TableInfo.describe(spark, name).location());

    new MaintainJob(List.of(name), false).run(spark);
    long left = countFiles(location, ".parquet");
    if (f == TableFormat.ICEBERG) {
      // expire_snapshots(retain_last 2) drops the snapshots of the first two overwrites and their
      // files
      assertThat(left).isEqualTo(2);
    } else {
      // Delta's VACUUM works in whole hours and we round up: versions written seconds ago all stay
      assertThat(left).isEqualTo(4);
    }
    String sqlName = f.sqlName(name, "iceberg");
    assertThat(spark.sql("select customer_id from " + sqlName).collectAsList().toString())
        .isEqualTo("[[3]]");
    assertThat(
            spark
                .sql("select customer_id from " + sqlName + " VERSION AS OF " + versions[2])
                .collectAsList()
                .toString())
        .isEqualTo("[[2]]");
  }

  @org.junit.jupiter.api.Test
  void writesKeepTheCallersRuntimeSettings() throws Exception {
    String t = tableFor(TableFormat.DELTA, "settings");
    new ApplyTablesJob(List.of(spec(TableFormat.DELTA, t, "", "customer_id"))).run(spark);
    Path file = csv("settings.csv", "customer_id,name,score\n1,a,1\n");
    spark.conf().set("spark.sql.parquet.compression.codec", "gzip");
    try {
      IngestJob.builder(TableName.parse(t), file.toString(), SourceFormat.CSV).build().run(spark);
    } finally {
      spark.conf().unset("spark.sql.parquet.compression.codec");
    }
    Path location = localPath(TableInfo.describe(spark, TableName.parse(t)).location());
    assertThat(countFiles(location, ".gz.parquet")).isEqualTo(1);
  }
}
