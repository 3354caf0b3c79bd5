package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.S3Server;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code s3a://} against a real S3-compatible server on loopback: ingest raw files from a bucket
 * into Delta and Iceberg tables, and keep a Delta table itself in the bucket (write, merge, time
 * travel, maintenance).
 */
class S3TablesTest extends SparkTestBase {
  private static S3Server s3;

  @BeforeAll
  static void startS3() throws Exception {
    s3 = S3Server.start(home.resolve("s3server"));
    s3.createBucket("lake");
    s3.configure(spark.sparkContext().hadoopConfiguration(), home);
    put("s3a://lake/raw/people/part-1.csv", "id,name\n1,ann\n2,bob\n");
    put("s3a://lake/raw/people/part-2.csv", "id,name\n3,cy\n");
  }

  @AfterAll
  static void stopS3() {
    if (s3 != null) {
      s3.close();
    }
  }

  private static void put(String uri, String text) throws Exception {
    Path p = new Path(uri);
    FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
    try (FSDataOutputStream out = fs.create(p, true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Every object under {@code prefix} with its size. */
  private static java.util.Map<String, Long> objects(String prefix) throws Exception {
    Path p = new Path(prefix);
    FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
    java.util.Map<String, Long> out = new TreeMap<>();
    var it = fs.listFiles(p, true);
    while (it.hasNext()) {
      var f = it.next();
      out.put(f.getPath().toString(), f.getLen());
    }
    return out;
  }

  /** The data files a query reads, as full {@code s3a://} paths. */
  private static Set<String> inputFiles(String sql) {
    Set<String> out = new TreeSet<>();
    for (String f : spark.sql(sql).inputFiles()) {
      out.add(new Path(f).toString());
    }
    return out;
  }

  /** The values of a one-column query, as full paths. */
  private static Set<String> column(String sql) {
    Set<String> out = new TreeSet<>();
    spark.sql(sql).collectAsList().forEach(r -> out.add(new Path(r.getString(0)).toString()));
    return out;
  }

  private static TableSpec spec(String name, String format, String location) {
    return YamlSpecReader.parse(
        """
        name: %s
        format: %s
        columns:
          - {name: id, type: bigint, nullable: false}
          - {name: name, type: string}
        primary-key: [id]
        retention: {days: 0, versions: 1}
        %s
        """
            .formatted(name, format, location == null ? "" : "location: " + location),
        TableSpec.class,
        "test");
  }

  @Test
  void ingestFromABucketIntoBothFormats() {
    new ApplyTablesJob(
            List.of(spec("s3.people_delta", "delta", null), spec("s3.people_ice", "iceberg", null)))
        .run(spark);
    for (String t : List.of("s3.people_delta", "s3.people_ice")) {
      var r =
          IngestJob.builder(TableName.parse(t), "s3a://lake/raw/people/", SourceFormat.CSV)
              .optBatchId("s3-1")
              .build()
              .run(spark);
      assertThat(r.rowsWritten()).isEqualTo(3);
    }
    assertThat(
            spark
                .sql("select id, name from s3.people_delta order by id")
                .collectAsList()
                .toString())
        .isEqualTo("[[1,ann], [2,bob], [3,cy]]");
    assertThat(
            spark
                .sql("select id, name from iceberg.s3.people_ice order by id")
                .collectAsList()
                .toString())
        .isEqualTo("[[1,ann], [2,bob], [3,cy]]");
  }

  @Test
  void aDeltaTableLivesInTheBucket() throws Exception {
    TableName t = TableName.parse("s3.in_bucket");
    new ApplyTablesJob(List.of(spec(t.toString(), "delta", "s3a://lake/tables/in_bucket")))
        .run(spark);
    IngestJob.builder(t, "s3a://lake/raw/people/", SourceFormat.CSV).build().run(spark);
    put("s3a://lake/raw/update.csv", "id,name\n2,bea\n4,dan\n");
    var merge =
        IngestJob.builder(t, "s3a://lake/raw/update.csv", SourceFormat.CSV).build().run(spark);

    assertThat(TableInfo.describe(spark, t).location()).startsWith("s3a://lake/tables/in_bucket");
    assertThat(
            spark.sql("select id, name from s3.in_bucket order by id").collectAsList().toString())
        .isEqualTo("[[1,ann], [2,bea], [3,cy], [4,dan]]");
    assertThat(
            spark
                .sql("select count(*) from s3.in_bucket VERSION AS OF " + merge.versionBefore())
                .first()
                .getLong(0))
        .isEqualTo(3);
    FileSystem fs =
        new Path("s3a://lake/").getFileSystem(spark.sparkContext().hadoopConfiguration());
    assertThat(
            fs.exists(new Path("s3a://lake/tables/in_bucket/_delta_log/00000000000000000000.json")))
        .isTrue();

    var report = new MaintainJob(List.of(t), false).run(spark).get(0);
    assertThat(report.filesAfter()).isLessThanOrEqualTo(report.filesBefore());
    assertThat(spark.table("s3.in_bucket").count()).isEqualTo(4);
    assertThat(CliRun.run(home, "tables", "describe", "s3.in_bucket").out())
        .contains("s3a://lake/tables/in_bucket")
        .doesNotContain(s3.secretKey());
  }

  /**
   * Maintenance of tables kept in the bucket removes exactly the objects no retained version needs:
   * listed before and after, the removed objects are the data files (and, for Iceberg, the
   * manifests and manifest lists) of the versions outside retention, and nothing else changes but
   * the new Iceberg metadata file the expiry commits.
   */
  @Test
  void maintenanceInTheBucketRemovesExactlyWhatNoRetainedVersionNeeds() throws Exception {
    for (String format : List.of("delta", "iceberg")) {
      TableName t = TableName.parse("s3.maint_" + format);
      String folder = "s3a://lake/tables/maint_" + format;
      new ApplyTablesJob(List.of(spec(t.toString(), format, folder))).run(spark);
      for (int i = 0; i < 3; i++) {
        put("s3a://lake/raw/maint-" + i + ".csv", "id,name\n" + i + ",v" + i + "\n");
        IngestJob.builder(t, "s3a://lake/raw/maint-" + i + ".csv", SourceFormat.CSV)
            .optMode(WriteMode.OVERWRITE)
            .build()
            .run(spark);
      }
      String sqlName = format.equals("delta") ? t.toString() : "iceberg." + t;
      java.util.Map<String, Long> before = objects(folder);
      // retention {days: 0, versions: 1}: only the current version is kept
      Set<String> needed =
          format.equals("delta")
              ? inputFiles("select * from " + sqlName)
              : column("select file_path from " + sqlName + ".files");
      assertThat(needed).hasSize(1);
      Set<String> expectedRemoved = new TreeSet<>();
      for (String o : before.keySet()) {
        if (o.endsWith(".parquet") && !needed.contains(o)) {
          expectedRemoved.add(o);
        }
      }
      assertThat(expectedRemoved).hasSize(2);
      if (format.equals("iceberg")) {
        Set<String> manifestsKept = column("select path from " + sqlName + ".manifests");
        String listKept =
            new Path(
                    spark
                        .sql(
                            "select manifest_list from "
                                + sqlName
                                + ".snapshots order by committed_at desc limit 1")
                        .first()
                        .getString(0))
                .toString();
        for (String o : before.keySet()) {
          if (o.endsWith(".avro") && !manifestsKept.contains(o) && !o.equals(listKept)) {
            expectedRemoved.add(o);
          }
        }
      }

      new MaintainJob(List.of(t), false).run(spark);

      java.util.Map<String, Long> after = objects(folder);
      Set<String> removed = new TreeSet<>(before.keySet());
      removed.removeAll(after.keySet());
      Set<String> added = new TreeSet<>(after.keySet());
      added.removeAll(before.keySet());
      assertThat(removed).as(format + " objects removed").isEqualTo(expectedRemoved);
      if (format.equals("delta")) {
        // VACUUM records where its last run stopped; nothing else is written
        assertThat(added).containsExactly(folder + "/_delta_log/_last_vacuum_info");
      } else {
        assertThat(added).isNotEmpty().allMatch(o -> o.endsWith(".metadata.json"));
      }
      for (String kept : after.keySet()) {
        if (before.containsKey(kept)) {
          assertThat(after.get(kept)).as(kept).isEqualTo(before.get(kept));
        }
      }
      assertThat(spark.sql("select id from " + sqlName).collectAsList().toString())
          .isEqualTo("[[2]]");
    }
  }
}
