package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.junit.jupiter.api.Test;

/**
 * A Delta table written through Lakeforge's session stores its timestamps as Parquet's 64-bit
 * microseconds (what Iceberg writes too), not Spark's default 96-bit form, and reads them back
 * unchanged.
 */
class ParquetTimestampsTest extends SparkTestBase {
  @Test
  void deltaFilesHoldInt64MicrosecondTimestamps() throws Exception {
    spark.sql("create table ts_micros (id bigint, at timestamp) using delta");
    spark.sql(
        "insert into ts_micros values (1, timestamp'2026-12-03 18:00:00.123456'),"
            + " (2, timestamp'1899-12-31 23:59:59.000001')");

    Path dir = home.resolve("warehouse").resolve("ts_micros");
    List<Path> files;
    try (Stream<Path> s = Files.walk(dir)) {
      files = s.filter(p -> p.toString().endsWith(".parquet")).toList();
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      try (ParquetFileReader r =
          ParquetFileReader.open(
              HadoopInputFile.fromPath(
                  new org.apache.hadoop.fs.Path(f.toUri()), new Configuration()))) {
        PrimitiveType at = r.getFileMetaData().getSchema().getType("at").asPrimitiveType();
        assertThat(at.getPrimitiveTypeName()).as(f.toString()).isEqualTo(PrimitiveTypeName.INT64);
        assertThat(at.getLogicalTypeAnnotation())
            .isEqualTo(
                LogicalTypeAnnotation.timestampType(true, LogicalTypeAnnotation.TimeUnit.MICROS));
      }
    }
    assertThat(spark.sql("select cast(at as string) from ts_micros order by id").collectAsList())
        .extracting(row -> row.getString(0))
        .containsExactly("2026-12-03 18:00:00.123456", "1899-12-31 23:59:59.000001");
  }
}
