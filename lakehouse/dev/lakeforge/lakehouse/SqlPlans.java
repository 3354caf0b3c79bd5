package dev.lakeforge.lakehouse;

import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Parsing a SQL statement into its plan without running it, and reading the table names it
 * mentions.
 */
final class SqlPlans {
  private SqlPlans() {}

  /** The parsed (unresolved, unexecuted) plan of {@code sql}. */
  static LogicalPlan parse(SparkSession spark, String sql) {
    return dev.lakeforge.core.SparkInternals.parse(spark, sql);
  }

  /** The relation's name parts, lower-cased, as keys of {@link Lakehouse#tablesBySqlName()}. */
  static List<String> parts(UnresolvedRelation r) {
    return CollectionConverters.asJava(r.multipartIdentifier()).stream()
        .map(s -> s.toLowerCase(Locale.ROOT))
        .toList();
  }
}
