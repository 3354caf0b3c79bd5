package dev.lakeforge.lakehouse;

import dev.lakeforge.core.SpecException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.RelationTimeTravel;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import scala.Option;
import scala.runtime.AbstractPartialFunction;

/**
 * A query that reads every lakehouse table as it was at one moment: each Delta or Iceberg table the
 * query names is read with {@code TIMESTAMP AS OF}, as if the user had written it after every
 * table. Tables the query already time travels, temporary views and CTEs are left alone. This gives
 * a consistent view across tables and formats (a Delta version number and an Iceberg snapshot id
 * mean nothing to each other, so only a timestamp applies to all).
 *
 * @param sql one Spark SQL query
 * @param timestamp {@code yyyy-MM-dd HH:mm:ss[.fff]} or {@code yyyy-MM-dd}, in the session time
 *     zone (UTC)
 */
public record AsOfQuery(String sql, String timestamp) {
  public AsOfQuery {
    Objects.requireNonNull(sql, "sql is null");
    Objects.requireNonNull(timestamp, "timestamp is null");
    timestamp = timestamp.trim();
    try {
      Timestamp.valueOf(timestamp.length() == 10 ? timestamp + " 00:00:00" : timestamp);
    } catch (IllegalArgumentException e) {
      throw new SpecException(
          String.format(
              "--as-of '%s' is not a timestamp: write yyyy-MM-dd HH:mm:ss (UTC), e.g. '2026-11-24 10:00:00'. For a"
                  + " version, write VERSION AS OF <version> after the table in the query.",
              timestamp));
    }
  }

  /**
   * Parses the query, pins every lakehouse table it reads to {@link #timestamp}, and returns the
   * result.
   */
  public Dataset<Row> run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    Set<List<String>> names = lh.tablesBySqlName().keySet();
    LogicalPlan parsed = SqlPlans.parse(spark, sql);
    Expression at =
        Literal.create(
            timestamp.length() == 10 ? timestamp + " 00:00:00" : timestamp,
            org.apache.spark.sql.types.DataTypes.StringType);
    int[] pinned = {0};
    LogicalPlan plan =
        parsed.transformDownWithSubqueries(
            new AbstractPartialFunction<LogicalPlan, LogicalPlan>() {
              @Override
              public boolean isDefinedAt(LogicalPlan p) {
                return p instanceof UnresolvedRelation r && names.contains(SqlPlans.parts(r));
              }

              @Override
              public LogicalPlan apply(LogicalPlan p) {
                if (!isDefinedAt(p)) {
                  return p;
                }
                pinned[0]++;
                return new RelationTimeTravel(p, Option.apply(at), Option.empty());
              }
            });
    if (pinned[0] == 0) {
      throw new SpecException(
          "--as-of applies to queries that read lakehouse tables, and this one reads none: name a table as"
              + " namespace.table (Delta) or "
              + lh.platform().icebergCatalog()
              + ".namespace.table (Iceberg).");
    }
    return dev.lakeforge.core.SparkInternals.run(spark, plan);
  }
}
