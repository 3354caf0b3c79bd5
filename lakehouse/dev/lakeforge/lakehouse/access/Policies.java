package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.AccessPolicies;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.ColumnSpec;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.util.Locale;
import java.util.Optional;
import org.apache.spark.sql.SparkSession;

/**
 * Defining column masks and row filters on lakehouse tables: each expression is validated against
 * the table (it must analyse as SQL over the table's columns) before the catalog stores it, and the
 * session extension then applies it to every read ({@link PolicyRule}). Needs ADMIN.
 */
public final class Policies {
  private final Lakehouse lh;

  private Policies(Lakehouse lh) {
    this.lh = lh;
  }

  /** The policies of the lakehouse of {@code spark}. */
  public static Policies of(SparkSession spark) {
    return new Policies(Lakehouse.open(spark));
  }

  /**
   * Masks {@code column} of {@code table} with {@code expression} for all but {@code exemptRole}.
   */
  public void mask(TableName table, String column, String expression, Optional<String> exemptRole) {
    TableSpec spec = lh.spec(table);
    String col = column.toLowerCase(Locale.ROOT);
    if (spec.columns().stream().map(ColumnSpec::name).noneMatch(col::equals)) {
      throw new SpecException(
          String.format(
              "Table %s has no column '%s' to mask: its columns are %s.",
              table, column, spec.columns().stream().map(ColumnSpec::name).toList()));
    }
    validate(spec, "mask expression", expression, false);
    catalog().mask(lh.principal(), table, col, expression, exemptRole);
  }

  /**
   * Limits what a principal (or a role's members) sees of {@code table} to rows matching a
   * predicate.
   */
  public void rowFilter(TableName table, String grantee, boolean role, String predicate) {
    validate(lh.spec(table), "row filter predicate", predicate, true);
    catalog().rowFilter(lh.principal(), table, grantee, role, predicate);
  }

  /** The catalog's record of masks and filters. */
  public AccessPolicies catalog() {
    return new AccessPolicies(lh.catalog());
  }

  private void validate(TableSpec spec, String what, String sql, boolean predicate) {
    try {
      var df = lh.spark().table(lh.sqlName(spec));
      var checked = predicate ? df.where(sql) : df.selectExpr(sql);
      checked.schema();
    } catch (dev.lakeforge.catalog.AccessDeniedException e) {
      throw e;
    } catch (Exception e) { // Spark's AnalysisException and ParseException are checked to Java
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new SpecException(
          String.format(
              "The %s \"%s\" is not valid SQL over table %s: %s",
              what, sql, spec.name(), m.lines().findFirst().orElse(m)),
          e);
    }
  }
}
