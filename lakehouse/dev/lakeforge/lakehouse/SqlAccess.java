package dev.lakeforge.lakehouse;

import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.RelationTimeTravel;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.DeleteFromTable;
import org.apache.spark.sql.catalyst.plans.logical.InsertIntoStatement;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.MergeIntoTable;
import org.apache.spark.sql.catalyst.plans.logical.UnresolvedWith;
import org.apache.spark.sql.catalyst.plans.logical.UpdateTable;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

/**
 * What a SQL statement needs before it runs: SELECT on every lakehouse table it reads, MODIFY on
 * the table an INSERT, DELETE, UPDATE or MERGE writes, and ADMIN for anything else (DDL, reading
 * files or views by path). The statement is only parsed, never executed, to find out; the catalog's
 * own tables ({@code lakeforge.models}, …) count as tables of the namespace {@code lakeforge}.
 *
 * @param sql one Spark SQL statement
 */
public record SqlAccess(String sql) {

  /**
   * Checks every privilege the statement needs (each decision is audited); throws on the first one
   * missing.
   */
  public void check(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    for (Map.Entry<String, Privilege> need : needed(spark, lh).entrySet()) {
      if (need.getKey().equals("*")) {
        lh.require(need.getValue(), "*");
      } else {
        lh.require(need.getValue(), TableName.parse(need.getKey()));
      }
    }
  }

  /** Table name (or {@code *}) to the privilege needed on it. */
  Map<String, Privilege> needed(SparkSession spark, Lakehouse lh) {
    LogicalPlan plan = SqlPlans.parse(spark, sql);
    Map<List<String>, TableName> tables = lh.tablesBySqlName();
    List<List<String>> reads = new ArrayList<>();
    Set<String> cteNames = new HashSet<>();
    plan.transformDownWithSubqueries(
        new AbstractPartialFunction<LogicalPlan, LogicalPlan>() {
          @Override
          public boolean isDefinedAt(LogicalPlan p) {
            return true;
          }

          @Override
          public LogicalPlan apply(LogicalPlan p) {
            if (p instanceof UnresolvedRelation r) {
              reads.add(SqlPlans.parts(r));
            } else if (p instanceof RelationTimeTravel t
                && t.relation() instanceof UnresolvedRelation r) {
              reads.add(SqlPlans.parts(r));
            } else if (p instanceof UnresolvedWith w) {
              CollectionConverters.asJava(w.cteRelations())
                  .forEach(cte -> cteNames.add(cte._1().toLowerCase(Locale.ROOT)));
            }
            return p;
          }
        });
    Map<String, Privilege> needed = new LinkedHashMap<>();
    List<String> written = writeTarget(plan);
    if (written != null) {
      String name = resolve(written, tables);
      if (name != null && name.startsWith(dev.lakeforge.core.SessionFactory.CATALOG_TABLES + ".")) {
        throw new SpecException(
            String.format(
                "%s is one of the catalog's tables, which are read-only in SQL: change the catalog with the lakeforge"
                    + " commands (models, catalog grant, ...).",
                name));
      }
      needed.put(name == null ? "*" : name, name == null ? Privilege.ADMIN : Privilege.MODIFY);
    } else if (plan instanceof Command || plan.getClass().getSimpleName().endsWith("Statement")) {
      needed.put("*", Privilege.ADMIN);
    }
    for (List<String> r : reads) {
      if (r.size() == 1 && cteNames.contains(r.get(0))) {
        continue;
      }
      String name = resolve(r, tables);
      if (name == null) {
        needed.put("*", Privilege.ADMIN);
      } else {
        needed.putIfAbsent(name, Privilege.SELECT);
      }
    }
    return needed;
  }

  /** The lakehouse table (or catalog table) a name refers to, or null. */
  private static String resolve(List<String> parts, Map<List<String>, TableName> tables) {
    if (parts.size() == 2
        && parts.get(0).equals(dev.lakeforge.core.SessionFactory.CATALOG_TABLES)) {
      return String.join(".", parts);
    }
    TableName t = tables.get(parts);
    return t == null ? null : t.toString();
  }

  private static List<String> writeTarget(LogicalPlan plan) {
    LogicalPlan target = null;
    if (plan instanceof InsertIntoStatement i) {
      target = i.table();
    } else if (plan instanceof DeleteFromTable d) {
      target = d.table();
    } else if (plan instanceof UpdateTable u) {
      target = u.table();
    } else if (plan instanceof MergeIntoTable m) {
      target = m.targetTable();
    }
    if (target == null) {
      return null;
    }
    while (target instanceof org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias a) {
      target = a.child();
    }
    return target instanceof UnresolvedRelation r ? SqlPlans.parts(r) : List.of("?");
  }
}
