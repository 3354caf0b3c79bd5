package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.TableName;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.catalyst.analysis.ResolvedTable;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.expressions.CallMethodViaReflection;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.catalog.DeltaTableV2;
import org.apache.spark.sql.delta.files.TahoeFileIndex;
import org.apache.spark.sql.execution.command.CreateViewCommand;
import org.apache.spark.sql.execution.command.SetCommand;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.SaveIntoDataSourceCommand;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2ScanRelation;
import scala.Option;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What an analysed plan needs: SELECT on every registered table it reads (metadata tables and reads
 * by a table's folder included), MODIFY on every table it writes, and ADMIN for everything else —
 * DDL, reading files by path, tables outside the lakehouse, Java reached through SQL, and any
 * operator or expression this class does not recognise (deny by default).
 *
 * <p>It walks the whole plan: children, every plan held in a node's fields (Delta's MERGE keeps its
 * source and target there), subquery expressions, CTE bodies and views (checked with the caller's
 * privileges). The reads a format makes for itself — Delta's log and checkpoints, which Delta reads
 * through its own {@code DeltaLogFileIndex} — need nothing.
 */
final class PlanInspector {
  private static final String LOGICAL = "org.apache.spark.sql.catalyst.plans.logical.";

  /** Operators that only transform what their children produce. */
  private static final Set<String> RELATIONAL =
      Set.of(
          "Project",
          "Filter",
          "Join",
          "Aggregate",
          "Sort",
          "GlobalLimit",
          "LocalLimit",
          "Offset",
          "Tail",
          "Union",
          "Intersect",
          "Except",
          "Distinct",
          "Deduplicate",
          "Window",
          "WindowGroupLimit",
          "Expand",
          "Generate",
          "Sample",
          "Repartition",
          "RepartitionByExpression",
          "RebalancePartitions",
          "SubqueryAlias",
          "View",
          "WithCTE",
          "CTERelationDef",
          "CTERelationRef",
          "ResolvedHint",
          "OneRowRelation",
          "LocalRelation",
          "Range",
          "EmptyRelation",
          "SerializeFromObject",
          "DeserializeToObject",
          "MapElements",
          "MapPartitions",
          "AppendColumns",
          "AppendColumnsWithObject",
          "TypedFilter",
          "MapGroups",
          "CoGroup",
          "Subquery",
          "ReturnAnswer",
          "AsOfJoin",
          "LateralJoin",
          "CollectMetrics",
          "UnionLoop",
          "UnionLoopRef",
          "MergeRows",
          "AttachDistributedSequence",
          "ArrowEvalPython",
          "BatchEvalPython",
          "ArrowEvalPythonUDTF",
          "BatchEvalPythonUDTF",
          "MapInPandas",
          "MapInArrow",
          "FlatMapGroupsInPandas",
          "FlatMapGroupsInArrow",
          "FlatMapCoGroupsInPandas",
          "FlatMapCoGroupsInArrow",
          "DomainJoin",
          "ShowTables",
          "ShowNamespaces",
          "ShowViews",
          "CreateVariable",
          "SetVariable",
          "DropVariable");

  /** Leaves and wrappers outside the logical package that read nothing outside the program. */
  private static final Set<String> LOCAL_DATA =
      Set.of(
          "org.apache.spark.sql.execution.LogicalRDD",
          "org.apache.spark.sql.execution.ExternalRDD",
          "org.apache.spark.sql.catalyst.analysis.ResolvedNamespace",
          // the command above it decides: ResolvedTable is the table a DESCRIBE or OPTIMIZE names
          "org.apache.spark.sql.catalyst.analysis.ResolvedTable",
          // CALL is decided before analysis, by GuardedParser, since Spark may run it during
          // analysis
          LOGICAL + "Call",
          "org.apache.spark.sql.catalyst.analysis.ResolvedProcedure",
          "org.apache.spark.sql.catalyst.plans.logical.CommandResult",
          "org.apache.spark.sql.execution.command.ShowNamespacesCommand");

  /** Delta commands that change the table they name. */
  private static final Set<String> DELTA_WRITES =
      Set.of(
          "org.apache.spark.sql.delta.commands.DeleteCommand",
          "org.apache.spark.sql.delta.commands.UpdateCommand",
          "org.apache.spark.sql.delta.commands.MergeIntoCommand",
          "org.apache.spark.sql.delta.commands.WriteIntoDelta",
          "org.apache.spark.sql.delta.commands.OptimizeTableCommand",
          "io.delta.tables.execution.VacuumTableCommand",
          "org.apache.spark.sql.delta.commands.VacuumCommand",
          "org.apache.spark.sql.delta.commands.RestoreTableCommand",
          "org.apache.spark.sql.delta.commands.TruncateDeltaTableCommand");

  /** Commands that only read a table or its metadata. */
  private static final Set<String> TABLE_READS =
      Set.of(
          "org.apache.spark.sql.delta.commands.DescribeDeltaHistoryCommand",
          "org.apache.spark.sql.delta.commands.DescribeDeltaDetailCommand",
          LOGICAL + "DescribeRelation",
          LOGICAL + "DescribeColumn",
          LOGICAL + "ShowColumns",
          LOGICAL + "ShowTableProperties",
          LOGICAL + "ShowCreateTable",
          LOGICAL + "ShowPartitions");

  /** Where expressions Lakeforge trusts come from: Spark's and the table formats' own. */
  private static final List<String> TRUSTED_CODE =
      List.of("org.apache.spark.", "org.apache.iceberg.", "io.delta.", "dev.lakeforge.");

  private final TableResolver tables;
  private final Set<Need> needs = new LinkedHashSet<>();
  private final Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());

  private PlanInspector(TableResolver tables) {
    this.tables = tables;
  }

  /** Every privilege {@code plan} needs, in the order found, each once. */
  static List<Need> needs(LogicalPlan plan, TableResolver tables) {
    PlanInspector i = new PlanInspector(tables);
    i.plan(plan);
    return List.copyOf(i.needs);
  }

  private void plan(LogicalPlan p) {
    if (!seen.add(p)) {
      return;
    }
    node(p);
    for (Expression e : CollectionConverters.asJava(p.expressions())) {
      expression(e);
    }
    for (LogicalPlan inner : heldPlans(p)) {
      plan(inner);
    }
  }

  /**
   * Children, and the plans a node keeps in its other fields (Options, Seqs and DataFrames too).
   */
  private static List<LogicalPlan> heldPlans(LogicalPlan p) {
    List<LogicalPlan> out = new ArrayList<>(CollectionConverters.asJava(p.children()));
    scala.collection.Iterator<Object> fields = p.productIterator();
    while (fields.hasNext()) {
      collectPlans(fields.next(), out, 0);
    }
    return out;
  }

  private static void collectPlans(Object value, List<LogicalPlan> out, int depth) {
    if (value instanceof LogicalPlan lp) {
      out.add(lp);
    } else if (value instanceof Dataset<?> ds) {
      out.add(dev.lakeforge.core.SparkInternals.plan(ds));
    } else if (depth < 3 && value instanceof Option<?> o && o.isDefined()) {
      collectPlans(o.get(), out, depth + 1);
    } else if (depth < 3 && value instanceof scala.collection.Iterable<?> it) {
      it.foreach(
          v -> {
            collectPlans(v, out, depth + 1);
            return null;
          });
    }
  }

  private void node(LogicalPlan p) {
    String cls = p.getClass().getName();
    if (p instanceof DataSourceV2Relation r) {
      read(r);
    } else if (p instanceof DataSourceV2ScanRelation s) {
      read(s.relation());
    } else if (p instanceof LogicalRelation r) {
      read(r);
    } else if (WriteTargets.of(p).isPresent()) {
      write(WriteTargets.of(p).get());
    } else if (DELTA_WRITES.contains(cls)) {
      tableOf(p)
          .ifPresentOrElse(
              t -> modify(t, p.nodeName()),
              () -> needs.add(Need.admin(p.nodeName() + " on a table that is not registered")));
    } else if (TABLE_READS.contains(cls)) {
      tableOf(p)
          .ifPresentOrElse(
              t -> select(t, p.nodeName()),
              () -> needs.add(Need.admin(p.nodeName() + " of a table that is not registered")));
    } else if (p instanceof SaveIntoDataSourceCommand save) {
      save(save);
    } else if (p instanceof SetCommand s) {
      set(s);
    } else if (p instanceof CreateViewCommand v) {
      if (!v.viewType().toString().contains("TempView")) {
        needs.add(Need.admin("creates a persistent view"));
      } // a temporary view's query is checked through its plan field, and again when it is read
    } else if ((cls.startsWith(LOGICAL) && RELATIONAL.contains(p.getClass().getSimpleName()))
        || LOCAL_DATA.contains(cls)) {
      // transforms its children, or holds data the program itself made
    } else {
      needs.add(Need.admin("runs " + p.nodeName() + ", which only admins may run"));
    }
  }

  private void read(DataSourceV2Relation r) {
    Optional<TableName> t = tables.v2(r);
    if (t.isPresent()) {
      select(t.get(), "reads");
    } else {
      needs.add(Need.admin("reads " + r.table().name() + ", which is not a lakehouse table"));
    }
  }

  private void read(LogicalRelation r) {
    if (r.catalogTable().isDefined()) {
      Optional<TableName> t = tables.catalogTable(r.catalogTable().get());
      t.ifPresentOrElse(
          name -> select(name, "reads"),
          () ->
              needs.add(
                  Need.admin(
                      "reads "
                          + r.catalogTable().get().identifier()
                          + ", which is not registered")));
      return;
    }
    if (r.relation() instanceof HadoopFsRelation h) {
      if (h.location()
          .getClass()
          .getName()
          .equals("org.apache.spark.sql.delta.DeltaLogFileIndex")) {
        return; // Delta reading its own log and checkpoints
      }
      if (h.location() instanceof TahoeFileIndex t) {
        Optional<TableName> name = tables.byLocation(t.path().toString());
        if (name.isPresent()) {
          select(name.get(), "reads the folder of");
          return;
        }
      }
      needs.add(
          Need.admin(
              "reads files by path ("
                  + String.join(
                      ", ",
                      CollectionConverters.asJava(h.location().rootPaths()).stream()
                          .limit(3)
                          .map(Object::toString)
                          .toList())
                  + ")"));
      return;
    }
    needs.add(
        Need.admin(
            "reads " + r.relation().getClass().getSimpleName() + " data outside the lakehouse"));
  }

  private void write(LogicalPlan t) {
    Optional<TableName> name = Optional.empty();
    if (t instanceof DataSourceV2Relation r) {
      name = tables.v2(r);
    } else if (t instanceof LogicalRelation r && r.catalogTable().isDefined()) {
      name = tables.catalogTable(r.catalogTable().get());
    }
    String node = t.nodeName();
    name.ifPresentOrElse(
        n -> modify(n, "writes"),
        () -> needs.add(Need.admin("writes " + node + ", which is not a lakehouse table")));
  }

  /** The registered table a command names in its fields (a Delta table, log, catalog entry...). */
  private Optional<TableName> tableOf(LogicalPlan p) {
    List<Object> values = new ArrayList<>();
    p.productIterator().foreach(values::add);
    values.addAll(CollectionConverters.asJava(p.children()));
    for (Object v : values) {
      Object x = v instanceof Option<?> o && o.isDefined() ? o.get() : v;
      Optional<TableName> t = Optional.empty();
      if (x instanceof DeltaTableV2 d) {
        t = tables.delta(d);
      } else if (x instanceof ResolvedTable rt) {
        t =
            rt.table() instanceof DeltaTableV2 d
                ? tables.delta(d)
                : tables.byIdentifier(
                    rt.catalog().name(),
                    Arrays.asList(rt.identifier().namespace()),
                    rt.identifier().name());
      } else if (x instanceof CatalogTable ct) {
        t = tables.catalogTable(ct);
      } else if (x instanceof DeltaLog log) {
        t = tables.byLocation(log.dataPath().toString());
      } else if (x instanceof TahoeFileIndex f) {
        t = tables.byLocation(f.path().toString());
      }
      if (t.isPresent()) {
        return t;
      }
    }
    return Optional.empty();
  }

  /** {@code df.write.format("delta").save(path)}: a write to the registered table at that path. */
  private void save(SaveIntoDataSourceCommand save) {
    scala.Option<String> path = save.options().get("path");
    Optional<TableName> t =
        save.dataSource()
                    .getClass()
                    .getName()
                    .equals("org.apache.spark.sql.delta.sources.DeltaDataSource")
                && path.isDefined()
            ? tables.byLocation(path.get())
            : Optional.empty();
    t.ifPresentOrElse(
        name -> modify(name, "writes the folder of"),
        () ->
            needs.add(
                Need.admin(
                    "writes files by path (" + (path.isDefined() ? path.get() : "?") + ")")));
  }

  private void set(SetCommand s) {
    if (s.kv().isEmpty() || s.kv().get()._2().isEmpty()) {
      return; // listing or reading settings
    }
    String key = s.kv().get()._1().trim();
    boolean sqlSetting =
        key.startsWith("spark.sql.")
            && !key.startsWith("spark.sql.catalog")
            && !key.startsWith("spark.sql.extensions")
            && !key.startsWith("spark.sql.warehouse");
    if (!sqlSetting) {
      needs.add(Need.admin("sets " + key + " (only spark.sql.* query settings are open to all)"));
    }
  }

  private void expression(Expression root) {
    root.foreach(
        e -> {
          if (e instanceof SubqueryExpression s) {
            plan(s.plan());
          } else if (e instanceof CallMethodViaReflection) {
            needs.add(Need.admin("calls " + e.prettyName() + ", which runs arbitrary Java"));
          } else if (!trusted(e.getClass().getName())) {
            needs.add(Need.admin("uses the expression " + e.getClass().getName()));
          }
          return null;
        });
  }

  private static boolean trusted(String className) {
    return TRUSTED_CODE.stream().anyMatch(className::startsWith);
  }

  private void select(TableName t, String why) {
    needs.add(new Need(Privilege.SELECT, AccessControl.table(t), why + " table " + t));
  }

  private void modify(TableName t, String why) {
    needs.add(new Need(Privilege.MODIFY, AccessControl.table(t), why + " table " + t));
  }
}
