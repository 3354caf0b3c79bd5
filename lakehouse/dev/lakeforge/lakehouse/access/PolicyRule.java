package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.AccessPolicies;
import dev.lakeforge.catalog.AuditLog;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.TableRegistry;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.SparkInternals;
import dev.lakeforge.core.TableName;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.Or;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.catalyst.trees.TreeNodeTag;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

/**
 * Applies column masks and row filters to every read of a table, wherever it appears in a plan
 * (joins, CTEs, subqueries, DataFrames): the table's relation becomes {@code Project(masked
 * columns, Filter(row predicates, relation))}, keeping each column's name and id so the rest of the
 * plan reads the masked value. A principal with a mask or filter on a table may not write it nor
 * read its Iceberg metadata tables (their column statistics would show raw values). Each relation
 * is looked at once per principal (a tag marks it).
 */
final class PolicyRule extends Rule<LogicalPlan> {
  private static final TreeNodeTag<String> SEEN = new TreeNodeTag<>("lakeforge.policies");

  private final SparkSession session;

  PolicyRule(SparkSession session) {
    this.session = session;
  }

  @Override
  public LogicalPlan apply(LogicalPlan plan) {
    if (AccessScope.active() || !plan.resolved()) {
      // Lakeforge's own, already-checked work reads and writes the stored values; and a plan is
      // restricted once resolved, so every reference above a masked column can be rewritten.
      return plan;
    }
    List<LogicalPlan> fresh = new ArrayList<>();
    plan.foreach(
        p -> {
          if (relation(p) && !TableResolver.deltaLogRead(p) && !seenBySomeone(p)) {
            fresh.add(p);
          }
          return null;
        });
    if (fresh.isEmpty()) {
      return plan;
    }
    Platform platform = AccessGuard.platform(session);
    CatalogDatabase db = CatalogDatabase.of(platform);
    AccessPolicies policies = new AccessPolicies(db);
    Set<String> withPolicies = policies.tablesWithPolicies();
    if (withPolicies.isEmpty()) {
      return plan;
    }
    Principal who = AccessGuard.principal(session, db);
    TableResolver tables =
        new TableResolver(() -> new TableRegistry(db).list(), platform.icebergCatalog());
    Set<LogicalPlan> targets = writeTargets(plan);
    Map<LogicalPlan, AccessPolicies.Applied> apply = new IdentityHashMap<>();
    for (LogicalPlan r : fresh) {
      r.setTagValue(SEEN, who.name());
      tables
          .relation(r)
          .filter(t -> withPolicies.contains(t.toString()))
          .ifPresent(
              t -> {
                AccessPolicies.Applied applied = policies.appliedTo(who, t);
                if (applied.none()) {
                  return;
                }
                if (targets.contains(r)) {
                  refuse(db, who, t, "write it");
                }
                if (TableResolver.metadataTable(r)) {
                  refuse(db, who, t, "read its metadata tables");
                }
                apply.put(r, applied);
              });
    }
    if (apply.isEmpty()) {
      return plan;
    }
    // The masked columns get new ids (a projection keeping the ids would look like a no-op to the
    // optimizer and be removed); Spark rewrites the references above to them.
    return plan.transformUpWithNewOutput(
        new AbstractPartialFunction<
            LogicalPlan,
            scala.Tuple2<
                LogicalPlan,
                scala.collection.immutable.Seq<scala.Tuple2<Attribute, Attribute>>>>() {
          @Override
          public boolean isDefinedAt(LogicalPlan p) {
            return apply.containsKey(p);
          }

          @Override
          public scala.Tuple2<
                  LogicalPlan, scala.collection.immutable.Seq<scala.Tuple2<Attribute, Attribute>>>
              apply(LogicalPlan p) {
            List<scala.Tuple2<Attribute, Attribute>> renamed = new ArrayList<>();
            LogicalPlan restricted = restrict(p, apply.get(p), renamed);
            return new scala.Tuple2<>(restricted, CollectionConverters.asScala(renamed).toSeq());
          }
        },
        plan.transformUpWithNewOutput$default$2(),
        plan.transformUpWithNewOutput$default$3());
  }

  private LogicalPlan restrict(
      LogicalPlan relation,
      AccessPolicies.Applied applied,
      List<scala.Tuple2<Attribute, Attribute>> renamed) {
    LogicalPlan child = relation;
    if (!applied.rowPredicates().isEmpty()) {
      Expression visible = null;
      for (String predicate : applied.rowPredicates()) {
        Expression e = SparkInternals.parseExpression(session, predicate);
        visible = visible == null ? e : new Or(visible, e);
      }
      child = new Filter(visible, child);
    }
    if (applied.masks().isEmpty()) {
      return child;
    }
    List<NamedExpression> columns = new ArrayList<>();
    for (Attribute a : CollectionConverters.asJava(relation.output())) {
      String mask = applied.masks().get(a.name().toLowerCase(Locale.ROOT));
      if (mask == null) {
        mask = applied.masks().get(a.name());
      }
      if (mask == null) {
        columns.add(a);
      } else {
        Expression masked = resolvedOver(relation, mask);
        Alias alias =
            new Alias(
                masked,
                a.name(),
                NamedExpression.newExprId(),
                a.qualifier(),
                scala.Option.apply(a.metadata()),
                CollectionConverters.asScala(List.<String>of()).toSeq());
        columns.add(alias);
        renamed.add(new scala.Tuple2<>(a, alias.toAttribute()));
      }
    }
    return new Project(CollectionConverters.asScala(columns).toSeq(), child);
  }

  /** {@code sql} resolved against {@code relation}'s columns (so its type is known here). */
  private Expression resolvedOver(LogicalPlan relation, String sql) {
    Alias probe =
        new Alias(
            SparkInternals.parseExpression(session, sql),
            "mask",
            NamedExpression.newExprId(),
            CollectionConverters.asScala(List.<String>of()).toSeq(),
            scala.Option.empty(),
            CollectionConverters.asScala(List.<String>of()).toSeq());
    LogicalPlan resolved =
        AccessScope.internal(
            () ->
                SparkInternals.resolve(
                    session,
                    new Project(
                        CollectionConverters.asScala(List.<NamedExpression>of(probe)).toSeq(),
                        relation)));
    return ((Alias) ((Project) resolved).projectList().head()).child();
  }

  private static void refuse(CatalogDatabase db, Principal who, TableName t, String what) {
    new AuditLog(db)
        .append(
            who,
            "access.select",
            AccessControl.table(t),
            AuditLog.DENIED,
            "has masks or row filters on it; may not " + what);
    throw new AccessDeniedException(
        String.format(
            "Access denied: principal %s reads %s through column masks or row filters and may not %s."
                + " Use a principal in the masks' exempt role without row filters (e.g. the ETL"
                + " service principal), or ask an admin to drop the filter.",
            who, t, what));
  }

  private static boolean relation(LogicalPlan p) {
    return p instanceof DataSourceV2Relation || p instanceof LogicalRelation;
  }

  private static boolean seenBySomeone(LogicalPlan p) {
    return p.getTagValue(SEEN).isDefined();
  }

  /** The relations a plan writes (they are never masked; a restricted principal may not write). */
  private static Set<LogicalPlan> writeTargets(LogicalPlan plan) {
    Set<LogicalPlan> out = Collections.newSetFromMap(new IdentityHashMap<>());
    plan.foreach(
        p -> {
          WriteTargets.of(p).ifPresent(out::add);
          return null;
        });
    return out;
  }
}
