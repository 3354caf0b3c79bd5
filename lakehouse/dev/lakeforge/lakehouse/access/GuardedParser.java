package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.Privilege;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.RelationTimeTravel;
import org.apache.spark.sql.catalyst.analysis.UnresolvedProcedure;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.expressions.NamedArgumentExpression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.parser.ParameterContext;
import org.apache.spark.sql.catalyst.parser.ParseException;
import org.apache.spark.sql.catalyst.parser.ParserInterface;
import org.apache.spark.sql.catalyst.plans.logical.Call;
import org.apache.spark.sql.catalyst.plans.logical.ExecutableDuringAnalysis;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The session's SQL parser, with the checks that cannot wait for the analysed plan: Spark 4 runs
 * {@code CALL} procedures and the subqueries of {@code TIMESTAMP AS OF (...)} <em>during</em>
 * analysis, before any check rule sees the plan. So a parsed statement with a {@code CALL} is
 * checked here — a table-maintenance procedure of the Iceberg catalog on a registered table, with
 * literal arguments and no path argument, needs MODIFY on that table; every other procedure needs
 * ADMIN — and a time-travel subquery needs ADMIN. Everything else is checked on the analysed plan.
 */
final class GuardedParser implements ParserInterface {
  /** Iceberg procedures that only maintain the table they are given, with their safe arguments. */
  private static final Map<String, Set<String>> TABLE_PROCEDURES =
      Map.ofEntries(
          Map.entry(
              "expire_snapshots",
              Set.of(
                  "table",
                  "older_than",
                  "retain_last",
                  "max_concurrent_deletes",
                  "stream_results",
                  "snapshot_ids",
                  "clean_expired_metadata")),
          Map.entry(
              "remove_orphan_files",
              Set.of("table", "older_than", "dry_run", "max_concurrent_deletes")),
          Map.entry(
              "rewrite_data_files", Set.of("table", "strategy", "sort_order", "options", "where")),
          Map.entry("rewrite_manifests", Set.of("table", "use_caching", "spec_id")),
          Map.entry("rewrite_position_delete_files", Set.of("table", "options", "where")),
          Map.entry("rollback_to_snapshot", Set.of("table", "snapshot_id")),
          Map.entry("rollback_to_timestamp", Set.of("table", "timestamp")),
          Map.entry("set_current_snapshot", Set.of("table", "snapshot_id", "ref")),
          Map.entry("cherrypick_snapshot", Set.of("table", "snapshot_id")),
          Map.entry("fast_forward", Set.of("table", "branch", "to")),
          Map.entry("publish_changes", Set.of("table", "wap_id")));

  private final SparkSession session;
  private final ParserInterface delegate;

  GuardedParser(SparkSession session, ParserInterface delegate) {
    this.session = session;
    this.delegate = delegate;
  }

  @Override
  public LogicalPlan parsePlan(String sqlText) throws ParseException {
    return guard(delegate.parsePlan(sqlText));
  }

  @Override
  public LogicalPlan parsePlanWithParameters(String sqlText, ParameterContext context)
      throws ParseException {
    return guard(delegate.parsePlanWithParameters(sqlText, context));
  }

  @Override
  public LogicalPlan parseQuery(String sqlText) throws ParseException {
    return guard(delegate.parseQuery(sqlText));
  }

  @Override
  public Expression parseExpression(String sqlText) throws ParseException {
    return delegate.parseExpression(sqlText);
  }

  @Override
  public TableIdentifier parseTableIdentifier(String sqlText) throws ParseException {
    return delegate.parseTableIdentifier(sqlText);
  }

  @Override
  public FunctionIdentifier parseFunctionIdentifier(String sqlText) throws ParseException {
    return delegate.parseFunctionIdentifier(sqlText);
  }

  @Override
  public Seq<String> parseMultipartIdentifier(String sqlText) throws ParseException {
    return delegate.parseMultipartIdentifier(sqlText);
  }

  @Override
  public StructType parseRoutineParam(String sqlText) throws ParseException {
    return delegate.parseRoutineParam(sqlText);
  }

  @Override
  public StructType parseTableSchema(String sqlText) throws ParseException {
    return delegate.parseTableSchema(sqlText);
  }

  @Override
  public DataType parseDataType(String sqlText) throws ParseException {
    return delegate.parseDataType(sqlText);
  }

  private LogicalPlan guard(LogicalPlan parsed) {
    if (containsEarlyExecution(parsed)) {
      AccessGuard.checkParsed(session, ctx -> needs(parsed, ctx));
    }
    return parsed;
  }

  private static boolean containsEarlyExecution(LogicalPlan parsed) {
    return !parsed.collectWithSubqueries(new Collector()).isEmpty();
  }

  /** Finds early-executing nodes inside subquery expressions too. */
  private static final class Collector
      extends scala.runtime.AbstractPartialFunction<LogicalPlan, LogicalPlan> {
    @Override
    public boolean isDefinedAt(LogicalPlan p) {
      return p instanceof ExecutableDuringAnalysis || timeTravelSubquery(p) || fileQuery(p);
    }

    @Override
    public LogicalPlan apply(LogicalPlan p) {
      return p;
    }
  }

  /**
   * {@code parquet.`/path`} and the like: Spark lists and reads the files (to infer a schema) while
   * it resolves the name, so the path is refused before that. A Delta table's folder ({@code
   * delta.`/path`}) is left to the analysed plan, where it is that table under its grants.
   */
  private static boolean fileQuery(LogicalPlan p) {
    return p instanceof UnresolvedRelation r
        && r.multipartIdentifier().size() == 2
        && FILE_FORMATS.contains(r.multipartIdentifier().head().toLowerCase(Locale.ROOT));
  }

  private static final Set<String> FILE_FORMATS =
      Set.of("parquet", "orc", "csv", "json", "text", "avro", "binaryfile", "xml");

  private static boolean timeTravelSubquery(LogicalPlan p) {
    return p instanceof RelationTimeTravel t
        && t.timestamp().isDefined()
        && t.timestamp().get().find(e -> e instanceof SubqueryExpression).isDefined();
  }

  private static List<Need> needs(LogicalPlan parsed, AccessGuard.Context ctx) {
    List<Need> out = new ArrayList<>();
    for (LogicalPlan p :
        CollectionConverters.asJava(parsed.collectWithSubqueries(new Collector()))) {
      if (p instanceof Call c) {
        out.add(call(c, ctx));
      } else if (p instanceof ExecutableDuringAnalysis) {
        out.add(Need.admin("runs " + p.nodeName() + " during analysis"));
      } else if (p instanceof UnresolvedRelation r) {
        List<String> parts = CollectionConverters.asJava(r.multipartIdentifier());
        if (ctx.tables()
            .byIdentifier("spark_catalog", List.of(parts.get(0)), parts.get(1))
            .isEmpty()) {
          out.add(Need.admin("reads files by path (" + parts.get(1) + ")"));
        }
      } else {
        out.add(Need.admin("evaluates a subquery in TIMESTAMP AS OF during analysis"));
      }
    }
    return out;
  }

  private static Need call(Call c, AccessGuard.Context ctx) {
    if (!(c.procedure() instanceof UnresolvedProcedure proc)) {
      return Need.admin("calls a procedure");
    }
    List<String> name =
        CollectionConverters.asJava(proc.nameParts()).stream()
            .map(s -> s.toLowerCase(Locale.ROOT))
            .toList();
    String display = String.join(".", name);
    Need admin = Need.admin("calls the procedure " + display);
    if (name.size() != 3
        || !name.get(0).equals(ctx.icebergCatalog().toLowerCase(Locale.ROOT))
        || !name.get(1).equals("system")
        || !TABLE_PROCEDURES.containsKey(name.get(2))) {
      return admin;
    }
    Set<String> allowed = TABLE_PROCEDURES.get(name.get(2));
    String table = null;
    List<Expression> args = CollectionConverters.asJava(c.args());
    for (int i = 0; i < args.size(); i++) {
      Expression a = args.get(i);
      String argName;
      Expression value;
      if (a instanceof NamedArgumentExpression n) {
        argName = n.key().toLowerCase(Locale.ROOT);
        value = n.value();
      } else if (i == 0 || (i == 1 && !name.get(2).equals("remove_orphan_files"))) {
        argName = i == 0 ? "table" : "positional";
        value = a;
      } else {
        return Need.admin("calls " + display + " with positional arguments after the second");
      }
      if (!argName.equals("positional") && !allowed.contains(argName)) {
        return Need.admin("calls " + display + " with the argument " + argName);
      }
      if (!(value instanceof Literal)) {
        return Need.admin("calls " + display + " with a computed argument");
      }
      if (argName.equals("table")) {
        table = String.valueOf(((Literal) value).value());
      }
    }
    if (table == null) {
      return admin;
    }
    List<String> parts = List.of(table.toLowerCase(Locale.ROOT).replace("`", "").split("\\."));
    if (parts.size() == 3 && parts.get(0).equals(name.get(0))) {
      parts = parts.subList(1, 3);
    }
    if (parts.size() != 2) {
      return admin;
    }
    return ctx.tables()
        .byIdentifier(name.get(0), List.of(parts.get(0)), parts.get(1))
        .map(
            t ->
                new Need(
                    Privilege.MODIFY,
                    AccessControl.table(t),
                    "calls " + display + " on table " + t))
        .orElse(Need.admin("calls " + display + " on a table that is not registered"));
  }
}
