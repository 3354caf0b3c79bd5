package dev.lakeforge.lakehouse.access;

import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.expressions.CurrentUser;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.types.DataTypes;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

/**
 * Lakeforge's access control as a Spark session extension ({@code spark.sql.extensions}), so the
 * same checks hold for {@code lakeforge sql}, for DataFrame code in a notebook or a {@code
 * spark-submit} job whose session has it, and for Lakeforge's own jobs: a check rule on every
 * analysed plan ({@link AccessGuard}, {@link PlanInspector}), a parser that checks what Spark would
 * run during analysis ({@link GuardedParser}), and {@code current_user()} answering the session's
 * principal. {@code SessionFactory} adds it to every session it builds.
 */
public final class AccessExtension
    extends scala.runtime.AbstractFunction1<SparkSessionExtensions, BoxedUnit> {

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    extensions.injectParser((session, parser) -> new GuardedParser(session, parser));
    extensions.injectResolutionRule(CurrentUserIsThePrincipal::new);
    extensions.injectResolutionRule(PolicyRule::new);
    extensions.injectCheckRule(
        session ->
            plan -> {
              AccessGuard.checkAnalysed(session, plan);
              return BoxedUnit.UNIT;
            });
    return BoxedUnit.UNIT;
  }

  /** {@code current_user()} is the Lakeforge principal, not the OS or Spark user. */
  static final class CurrentUserIsThePrincipal extends Rule<LogicalPlan> {
    private final org.apache.spark.sql.SparkSession session;

    CurrentUserIsThePrincipal(org.apache.spark.sql.SparkSession session) {
      this.session = session;
    }

    @Override
    public LogicalPlan apply(LogicalPlan plan) {
      if (plan.find(
              p -> p.expressions().exists(e -> e.find(x -> x instanceof CurrentUser).isDefined()))
          .isEmpty()) {
        return plan;
      }
      Literal principal =
          Literal.create(AccessGuard.principal(session).name(), DataTypes.StringType);
      return plan.transformAllExpressions(
          new AbstractPartialFunction<Expression, Expression>() {
            @Override
            public boolean isDefinedAt(Expression e) {
              return e instanceof CurrentUser;
            }

            @Override
            public Expression apply(Expression e) {
              return e instanceof CurrentUser ? principal : e;
            }
          });
    }
  }
}
