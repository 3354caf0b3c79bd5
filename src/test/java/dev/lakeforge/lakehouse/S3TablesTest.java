package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.S3Server;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
}
