package dev.lakeforge.lakehouse;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.util.Objects;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Deletes the rows of a table that match a predicate. The predicate is checked against the table
 * first (an unknown column or a syntax error fails before anything is deleted).
 *
 * @param table the table
 * @param predicate a Spark SQL boolean expression over the table's columns, e.g. {@code order_date
 *     < '2024-01-01'}
 */
public record DeleteJob(TableName table, String predicate) {
  public DeleteJob {
    Objects.requireNonNull(table, "table is null");
    if (predicate == null || predicate.isBlank()) {
      throw new SpecException(
          "Delete needs a predicate (--where \"...\"). To empty a table, say so: --where \"true\".");
    }
  }

  /**
   * @param table the table
   * @param rowsDeleted rows that matched the predicate
   * @param versionBefore version before
   * @param versionAfter version after (unchanged when no row matched)
   */
  public record Result(TableName table, long rowsDeleted, long versionBefore, long versionAfter) {}

  public Result run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    lh.spec(table);
    lh.require(dev.lakeforge.catalog.Privilege.MODIFY, table);
    // The predicate is the caller's SQL: it is analysed (and access-checked) as the principal,
    // before the job runs its own statements.
    Dataset<Row> matching = matching(spark, lh);
    return lh.recorded(
        "tables.delete",
        java.util.Map.of("table", table.toString(), "where", predicate),
        java.util.List.of(table),
        run -> {
          Result r = delete(spark, lh, matching, run.id());
          run.input(dev.lakeforge.catalog.Artifact.table(table.toString(), r.versionBefore()));
          if (r.versionAfter() != r.versionBefore()) {
            run.output(dev.lakeforge.catalog.Artifact.table(table.toString(), r.versionAfter()));
          }
          return r;
        },
        r -> java.util.Map.of("rows_deleted", r.rowsDeleted()));
  }

  private Dataset<Row> matching(SparkSession spark, Lakehouse lh) {
    try {
      return spark.table(lh.sqlName(lh.spec(table))).where(predicate);
    } catch (dev.lakeforge.catalog.AccessDeniedException e) {
      throw e;
    } catch (Exception e) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot delete from %s: the predicate \"%s\" is not valid for the table: %s",
              table, predicate, firstLine(e.getMessage())),
          e);
    }
  }

  private Result delete(SparkSession spark, Lakehouse lh, Dataset<Row> rows, String runId) {
    TableSpec spec = lh.spec(table);
    TableOperations ops = lh.operations(spec.format());
    String name = lh.sqlName(spec);
    long matching = rows.count();
    if (matching == 0) {
      long v = ops.currentVersion(table);
      return new Result(table, 0, v, v);
    }
    spark.sparkContext().setJobDescription("lakeforge: delete from " + table);
    SparkSession session = TableOperations.isolated(spark);
    try {
      Committer.Outcome o =
          Committer.commit(
              ops,
              session,
              table,
              new CommitTag(runId, Optional.empty()),
              () -> session.sql("DELETE FROM " + name + " WHERE " + predicate).collect());
      return new Result(table, matching, o.versionBefore(), o.versionAfter());
    } catch (WriteConflictException e) {
      throw e;
    } catch (Exception e) { // Spark's AnalysisException is checked to Java
      // e.g. a predicate the table's format cannot delete by (a subquery): say which and why
      throw new LakehouseException(
          table,
          String.format(
              "Cannot delete from %s where \"%s\": %s. The table is unchanged; simplify the"
                  + " predicate (no subqueries) or delete in steps.",
              table, predicate, firstLine(e.getMessage())),
          e);
    } finally {
      spark.sparkContext().setJobDescription(null);
    }
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return s == null ? "" : nl < 0 ? s : s.substring(0, nl);
  }
}
