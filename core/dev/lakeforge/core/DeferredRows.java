package dev.lakeforge.core;

import java.util.function.Supplier;
import org.apache.spark.Dependency;
import org.apache.spark.OneToOneDependency;
import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.collection.Iterator;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The internal rows of a query, planned and executed only when a Spark job first needs this RDD's
 * partitions. A DataFrame's own {@code queryExecution().toRdd()} plans at once, and under adaptive
 * execution that runs the query's shuffle stages at once too; deferring keeps a transformation
 * built on it as lazy as a DataFrame. On the executors it is the query's RDD, one partition for
 * one: the planned RDD is computed on the driver before the job's tasks are serialized, and travels
 * with them like the parent of any narrow transformation.
 */
final class DeferredRows extends RDD<InternalRow> {
  private static final long serialVersionUID = 1L;
  private static final ClassTag<InternalRow> TAG = ClassTag$.MODULE$.apply(InternalRow.class);

  private final transient Supplier<RDD<InternalRow>> plan;
  private RDD<InternalRow> rows;

  DeferredRows(org.apache.spark.SparkContext sc, Supplier<RDD<InternalRow>> plan) {
    super(sc, CollectionConverters.asScala(java.util.List.<Dependency<?>>of()).toList(), TAG);
    this.plan = plan;
  }

  private synchronized RDD<InternalRow> rows() {
    if (rows == null) {
      rows = plan.get();
    }
    return rows;
  }

  @Override
  public Partition[] getPartitions() {
    return rows().partitions();
  }

  @Override
  public Seq<Dependency<?>> getDependencies() {
    return CollectionConverters.asScala(
            java.util.List.<Dependency<?>>of(new OneToOneDependency<>(rows())))
        .toList();
  }

  @Override
  public scala.collection.immutable.Seq<String> getPreferredLocations(Partition split) {
    return rows().preferredLocations(split).toList();
  }

  @Override
  public Iterator<InternalRow> compute(Partition split, TaskContext context) {
    return rows.iterator(split, context);
  }
}
