package dev.lakeforge.core;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.connector.catalog.CatalogPlugin;

/**
 * The one place that reaches into Spark's classic (in-JVM) session for what the public API does not
 * offer: the SQL parser, the catalog manager, plans run as DataFrames, and session clones.
 * Everything else in Lakeforge uses the public {@link SparkSession} API, so a Spark Connect session
 * needs a second implementation of this class only. {@code ArchitectureTest} names it the only user
 * of {@code org.apache.spark.sql.classic}.
 */
public final class SparkInternals {
  private SparkInternals() {}

  /** The classic session behind {@code spark}; an error naming the limit on anything else. */
  public static org.apache.spark.sql.classic.SparkSession classic(SparkSession spark) {
    if (spark instanceof org.apache.spark.sql.classic.SparkSession c) {
      return c;
    }
    throw new LakeforgeException(
        String.format(
            "Lakeforge needs a classic (in-JVM) SparkSession; this is a %s. Run Lakeforge jobs on the driver of a"
                + " classic session (spark-submit, a notebook attached to a cluster), not through Spark Connect.",
            spark.getClass().getName()));
  }

  /**
   * The parsed (unresolved, unexecuted) plan of {@code sql}. Spark's {@code ParseException} is a
   * checked exception thrown from Scala, so it arrives undeclared: it is wrapped in a {@link
   * SpecException} naming the statement.
   */
  public static LogicalPlan parse(SparkSession spark, String sql) {
    try {
      return classic(spark).sessionState().sqlParser().parsePlan(sql);
    } catch (Exception e) {
      throw new SpecException("Cannot parse the statement: " + e.getMessage(), e);
    }
  }

  /** {@code plan} resolved by the session's analyzer (without the checks a DataFrame gets). */
  public static LogicalPlan resolve(SparkSession spark, LogicalPlan plan) {
    return classic(spark).sessionState().analyzer().execute(plan);
  }

  /** The unresolved expression of {@code sql}, parsed by the session's parser. */
  public static org.apache.spark.sql.catalyst.expressions.Expression parseExpression(
      SparkSession spark, String sql) {
    try {
      return classic(spark).sessionState().sqlParser().parseExpression(sql);
    } catch (Exception e) {
      throw new SpecException("Cannot parse the expression '" + sql + "': " + e.getMessage(), e);
    }
  }

  /**
   * The catalog plugin registered under {@code name} ({@code spark_catalog}, the Iceberg catalog,
   * ...).
   */
  public static CatalogPlugin catalog(SparkSession spark, String name) {
    return classic(spark).sessionState().catalogManager().catalog(name);
  }

  /** A DataFrame of {@code plan}, analysed (and checked) like any query of the session. */
  public static Dataset<Row> run(SparkSession spark, LogicalPlan plan) {
    return org.apache.spark.sql.classic.Dataset.ofRows(classic(spark), plan);
  }

  /**
   * The rows of {@code df} as Spark's internal rows, for code that processes them without the
   * conversion to {@link Row} and back. Lazy: the query is planned and run when an action first
   * needs the RDD's partitions. Its iterators may reuse one row object: copy a row to keep it past
   * the next call.
   */
  public static org.apache.spark.rdd.RDD<org.apache.spark.sql.catalyst.InternalRow> internalRows(
      Dataset<Row> df) {
    org.apache.spark.sql.classic.Dataset<Row> c = (org.apache.spark.sql.classic.Dataset<Row>) df;
    return new DeferredRows(c.sparkSession().sparkContext(), () -> c.queryExecution().toRdd());
  }

  /**
   * A DataFrame of internal rows of {@code schema} (e.g. made from {@link #internalRows}). Each row
   * is converted as the iterator returns it, so an iterator may reuse one row object.
   */
  public static Dataset<Row> fromInternalRows(
      SparkSession spark,
      org.apache.spark.rdd.RDD<org.apache.spark.sql.catalyst.InternalRow> rows,
      org.apache.spark.sql.types.StructType schema) {
    return classic(spark).internalCreateDataFrame(rows, schema, false);
  }

  /**
   * {@code rows} passed through {@code f} in each partition, on Spark's internal rows (no
   * conversion to {@link Row} and back), as a DataFrame of {@code schema}: what {@code f} returns
   * must be rows of that schema. Lazy, like {@link #internalRows}.
   */
  public static Dataset<Row> mapPartitions(
      Dataset<Row> rows,
      org.apache.spark.api.java.function.FlatMapFunction<
              java.util.Iterator<org.apache.spark.sql.catalyst.InternalRow>,
              org.apache.spark.sql.catalyst.InternalRow>
          f,
      org.apache.spark.sql.types.StructType schema) {
    return fromInternalRows(
        rows.sparkSession(), internalRows(rows).toJavaRDD().mapPartitions(f).rdd(), schema);
  }

  /** The analysed plan of a DataFrame. */
  public static LogicalPlan plan(Dataset<?> df) {
    return ((org.apache.spark.sql.classic.Dataset<?>) df).logicalPlan();
  }

  /**
   * A clone of {@code spark}: it keeps every runtime setting the caller made, and changes made on
   * it stay private to it.
   */
  public static SparkSession cloneSession(SparkSession spark) {
    return classic(spark).cloneSession();
  }
}
