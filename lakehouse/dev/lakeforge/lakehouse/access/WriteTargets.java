package dev.lakeforge.lakehouse.access;

import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.catalyst.plans.logical.DeleteFromTable;
import org.apache.spark.sql.catalyst.plans.logical.InsertIntoStatement;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.MergeIntoTable;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UpdateTable;
import org.apache.spark.sql.catalyst.plans.logical.V2WriteCommand;

/**
 * The relation a DML node writes, in the forms Spark and Delta give it before and after analysis.
 */
public final class WriteTargets {
  /** Delta's own DML nodes, which replace Spark's during resolution; the target is field 0. */
  private static final Set<String> DELTA_DML =
      Set.of("DeltaUpdateTable", "DeltaDelete", "DeltaMergeInto");

  private WriteTargets() {}

  /** The relation {@code node} writes (aliases removed), if it is a DML node. */
  public static Optional<LogicalPlan> of(LogicalPlan node) {
    LogicalPlan t = null;
    if (node instanceof V2WriteCommand w) {
      t = (LogicalPlan) w.table();
    } else if (node instanceof DeleteFromTable d) {
      t = d.table();
    } else if (node instanceof UpdateTable u) {
      t = u.table();
    } else if (node instanceof MergeIntoTable m) {
      t = m.targetTable();
    } else if (node instanceof InsertIntoStatement i) {
      t = i.table();
    } else if (DELTA_DML.contains(node.getClass().getSimpleName())) {
      t = (LogicalPlan) node.productElement(0);
    }
    while (t instanceof SubqueryAlias a) {
      t = a.child();
    }
    return Optional.ofNullable(t);
  }
}
