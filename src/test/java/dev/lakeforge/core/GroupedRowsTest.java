package dev.lakeforge.core;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.pmod;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.SparkTestBase;
import dev.lakeforge.testing.TaskTotals;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Groups read from one shuffle: each group holds exactly its rows, all columns intact, and reading
 * every group reads the input once, where filtering it per group would read it once per group.
 */
class GroupedRowsTest extends SparkTestBase {
  @TempDir static Path data;

  @Test
  void eachGroupHoldsItsRowsAndAllGroupsTogetherReadTheInputOnce() {
    String path = data.resolve("rows").toString();
    spark
        .range(0, 10_000)
        .selectExpr("id", "cast(id * 1.5 as double) as x", "concat('r', id) as s")
        .repartition(4)
        .write()
        .parquet(path);
    Dataset<Row> rows = spark.read().parquet(path);
    Column group = pmod(col("id"), org.apache.spark.sql.functions.lit(5));

    GroupedRows grouped = GroupedRows.of(rows, group, 5, new Column[] {col("id")}, 3);
    TaskTotals.Measured<List<List<Row>>> read =
        TaskTotals.of(
            spark,
            () -> {
              List<List<Row>> groups = new ArrayList<>();
              for (int g = 0; g < grouped.groups(); g++) {
                Dataset<Row> one = grouped.group(g);
                assertThat(one.columns()).containsExactly("id", "x", "s");
                assertThat(one.rdd().getNumPartitions()).as("a group's tasks").isEqualTo(3);
                groups.add(one.collectAsList());
              }
              return groups;
            });

    for (int g = 0; g < 5; g++) {
      List<Row> one = read.value().get(g);
      assertThat(one).hasSize(2_000);
      for (Row r : one) {
        assertThat(r.getLong(0) % 5).as("row %s in group %d", r, g).isEqualTo(g);
        assertThat(r.getDouble(1)).isEqualTo(r.getLong(0) * 1.5);
        assertThat(r.getString(2)).isEqualTo("r" + r.getLong(0));
      }
    }
    assertThat(read.totals().inputRows).as("input rows read for five groups").isEqualTo(10_000);
    assertThat(read.totals().shuffleRows).isEqualTo(10_000);

    // what grouping avoids: one filter per group reads the input once per group
    TaskTotals.Measured<Long> filtered =
        TaskTotals.of(
            spark,
            () -> {
              long n = 0;
              for (int g = 0; g < 5; g++) {
                n += rows.where(group.equalTo(g)).count();
              }
              return n;
            });
    assertThat(filtered.value()).isEqualTo(10_000);
    assertThat(filtered.totals().inputRows).isEqualTo(50_000);
  }

  @Test
  void nothingRunsUntilAGroupIsRead() {
    TaskTotals.Measured<GroupedRows> made =
        TaskTotals.of(
            spark,
            () ->
                GroupedRows.of(
                    spark.range(0, 100).toDF(),
                    pmod(col("id"), org.apache.spark.sql.functions.lit(2)),
                    2,
                    new Column[] {col("id")},
                    2));
    assertThat(made.totals().tasks).as("tasks run by making the groups").isZero();
    assertThat(made.value().group(1).count()).isEqualTo(50);
  }
}
