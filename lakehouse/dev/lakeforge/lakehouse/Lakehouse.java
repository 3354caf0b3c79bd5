package dev.lakeforge.lakehouse;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.AccessPolicies;
import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.catalog.TableRegistry;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCatalog;
import org.apache.spark.sql.connector.expressions.NamedReference;
import org.apache.spark.sql.connector.expressions.Transform;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lakehouse of one SparkSession: the platform it was built for, the table registry, and the
 * per-format operations. Opening it re-attaches every registered Delta table to the session, which
 * is what makes {@code select ... from shop.orders} work in a new process without a metastore.
 */
public final class Lakehouse {
  private static final Logger LOG = LoggerFactory.getLogger(Lakehouse.class);

  private final SparkSession spark;
  private final Platform platform;
  private final CatalogDatabase db;
  private final TableRegistry registry;
  private final Map<TableFormat, TableOperations> operations;

  private Lakehouse(SparkSession spark, Platform platform, CatalogDatabase db) {
    this.spark = spark;
    this.platform = platform;
    this.db = db;
    this.registry = new TableRegistry(db);
    this.operations =
        Map.of(
            TableFormat.DELTA,
            new DeltaOperations(spark),
            TableFormat.ICEBERG,
            new IcebergOperations(
                spark,
                platform.icebergCatalog(),
                () ->
                    ((org.apache.iceberg.spark.SparkCatalog) catalog(TableFormat.ICEBERG))
                        .icebergCatalog()));
  }

  /** Opens the lakehouse of {@code spark} (a session built by {@code SessionFactory}). */
  public static Lakehouse open(SparkSession spark) {
    Platform platform = Platform.of(spark);
    Lakehouse lh = new Lakehouse(spark, platform, CatalogDatabase.of(platform));
    dev.lakeforge.lakehouse.access.AccessScope.internal(
        () -> {
          lh.attachDeltaTables();
          lh.reconcileDeadRuns();
        });
    return lh;
  }

  public SparkSession spark() {
    return spark;
  }

  public Platform platform() {
    return platform;
  }

  /** The catalog database. */
  public CatalogDatabase catalog() {
    return db;
  }

  public TableRegistry registry() {
    return registry;
  }

  /** The applied spec of {@code table}; an error naming the fix if the table was never applied. */
  public TableSpec spec(TableName table) {
    return findSpec(table).orElseThrow(() -> LakehouseException.notRegistered(table));
  }

  /** The applied spec of {@code table}, if it was applied. */
  public Optional<TableSpec> findSpec(TableName table) {
    return registry
        .find(table)
        .map(r -> YamlSpecReader.parse(r.spec(), TableSpec.class, "catalog entry of " + table));
  }

  /** Every applied table's spec. */
  public List<TableSpec> specs() {
    List<TableSpec> out = new ArrayList<>();
    for (RegisteredTable r : registry.list()) {
      out.add(YamlSpecReader.parse(r.spec(), TableSpec.class, "catalog entry of " + r.name()));
    }
    return out;
  }

  /** How Spark SQL names {@code spec}'s table. */
  public String sqlName(TableSpec spec) {
    return spec.format().sqlName(spec.name(), platform.icebergCatalog());
  }

  /** Where {@code spec}'s table lives: its explicit location or a folder in the warehouse. */
  public String location(TableSpec spec) {
    return spec.location()
        .orElse(
            String.format(
                "%s/%s/%s/%s",
                platform.warehouse(),
                spec.format().label(),
                spec.name().namespace(),
                spec.name().table()));
  }

  TableOperations operations(TableFormat format) {
    return operations.get(format);
  }

  void register(TableSpec spec) {
    registry.put(
        new RegisteredTable(
            spec.name(), spec.format().label(), location(spec), YamlSpecReader.toJson(spec)),
        principal());
  }

  /**
   * Checks that the running principal holds {@code privilege} on {@code table} (audited); throws if
   * not.
   */
  public void require(Privilege privilege, TableName table) {
    new AccessControl(db).require(principal(), privilege, AccessControl.table(table));
  }

  /**
   * Checks that the running principal holds {@code privilege} on the catalog object {@code object}.
   */
  public void require(Privilege privilege, String object) {
    new AccessControl(db).require(principal(), privilege, object);
  }

  /**
   * Every registered table under each name Spark SQL knows it by (lower-case parts): {@code ns.t}
   * and {@code spark_catalog.ns.t} for Delta, {@code <iceberg catalog>.ns.t} for Iceberg.
   */
  Map<List<String>, TableName> tablesBySqlName() {
    Map<List<String>, TableName> names = new HashMap<>();
    String iceberg = platform.icebergCatalog().toLowerCase(java.util.Locale.ROOT);
    for (RegisteredTable t : registry.list()) {
      String ns = t.name().namespace();
      String table = t.name().table();
      if (t.format().equals(TableFormat.DELTA.label())) {
        names.put(List.of(ns, table), t.name());
        names.put(List.of("spark_catalog", ns, table), t.name());
      } else {
        names.put(List.of(iceberg, ns, table), t.name());
      }
    }
    return names;
  }

  /** The catalog's record of runs. */
  public RunLog runs() {
    return new RunLog(db);
  }

  /**
   * Runs {@code body} as a recorded run of {@code job}: the run is recorded before anything is
   * written (with the tables it is about to write, {@code targets}), and ends succeeded with {@code
   * metrics} of the result and whatever inputs and outputs the body added, or failed with the
   * error, which is rethrown (an error while recording the failure is attached to it, never put in
   * its place). The tables it wrote get their new version in the catalog. The body runs the job's
   * own statements: the job checked what its spec needs first.
   *
   * <p>When closing the run fails after the body committed, the data stays committed and the result
   * is returned, with a warning; the next command on this host finds the run's commits by its run
   * id in the targets' history and closes it ({@link #reconcileDeadRuns}).
   */
  <R> R recorded(
      String job,
      Map<String, String> parameters,
      List<TableName> targets,
      java.util.function.Function<RunLog.Recording, R> body,
      java.util.function.Function<R, Map<String, ?>> metrics) {
    return record(job, Optional.empty(), parameters, targets, true, body, metrics);
  }

  /** {@link #recorded(String, Map, List, Function, Function)} for a job that writes no table. */
  <R> R recorded(
      String job,
      Map<String, String> parameters,
      java.util.function.Function<RunLog.Recording, R> body,
      java.util.function.Function<R, Map<String, ?>> metrics) {
    return recorded(job, parameters, List.of(), body, metrics);
  }

  private <R> R record(
      String job,
      Optional<String> claim,
      Map<String, String> parameters,
      List<TableName> targets,
      boolean internal,
      java.util.function.Function<RunLog.Recording, R> body,
      java.util.function.Function<R, Map<String, ?>> metrics) {
    RunLog.Recording run =
        runs()
            .start(
                job,
                principal(),
                parameters,
                targets.stream()
                    .map(t -> new Artifact(Artifact.Kind.TABLE, t.toString(), ""))
                    .toList(),
                claim);
    R result;
    try {
      result =
          internal
              ? dev.lakeforge.lakehouse.access.AccessScope.internal(() -> body.apply(run))
              : body.apply(run);
    } catch (Throwable e) {
      // also Spark's SparkException, which Scala code throws undeclared although it is checked: a
      // run left `running` in a live process would hold its claim
      try {
        run.failed(e);
      } catch (RuntimeException recording) {
        e.addSuppressed(recording);
      }
      throw e;
    }
    try {
      run.succeeded(metrics.apply(result));
      recordVersions(run.outputs());
    } catch (RuntimeException closing) {
      LOG.warn(
          "{} committed {}, but closing its run {} in the catalog failed: {}. The data is"
              + " committed; the next Lakeforge command on this host records the run from the"
              + " tables' history.",
          job,
          run.outputs().isEmpty() ? "nothing" : run.outputs(),
          run.id(),
          closing.getMessage());
    }
    return result;
  }

  /**
   * Runs a job of a layer above the lakehouse (batch inference, feature jobs) as a recorded run:
   * first it checks that the principal holds SELECT on every table in {@code reads} and MODIFY on
   * every table in {@code targets} (all registered), then records the run with its targets and runs
   * {@code body}, which reads and commits through the {@link JobRun} it is given. The body's own
   * statements run without the SQL access guard (what they touch was checked here; the run refuses
   * a read or a commit it did not declare). A read of a table on which a column mask or row filter
   * applies to the principal is refused: the job's statements read stored values. The run ends
   * succeeded with {@code metrics} and, as lineage, the tables read and the last version committed
   * to each target; or failed with the error, which is rethrown.
   */
  public <R> R run(
      String job,
      Map<String, String> parameters,
      List<TableName> reads,
      List<TableName> targets,
      java.util.function.Function<JobRun, R> body,
      java.util.function.Function<R, Map<String, ?>> metrics) {
    return run(job, Optional.empty(), parameters, reads, targets, body, metrics);
  }

  /**
   * {@link #run(String, Map, List, List, Function, Function)} for a job of which one run at a time
   * may run: the run holds {@code claim} (e.g. {@code inference job score_customers}) from its
   * start to its end, and the catalog database refuses to start a second run holding it, also from
   * another process ({@link RunLog#start(String, Principal, Map, List, Optional)}). A run whose
   * process died frees it once it is marked abandoned.
   *
   * @throws dev.lakeforge.catalog.RunClaimedException naming the running run, before the body runs
   */
  public <R> R runExclusive(
      String claim,
      String job,
      Map<String, String> parameters,
      List<TableName> reads,
      List<TableName> targets,
      java.util.function.Function<JobRun, R> body,
      java.util.function.Function<R, Map<String, ?>> metrics) {
    return run(
        job,
        Optional.of(Objects.requireNonNull(claim, "claim is null")),
        parameters,
        reads,
        targets,
        body,
        metrics);
  }

  private <R> R run(
      String job,
      Optional<String> claim,
      Map<String, String> parameters,
      List<TableName> reads,
      List<TableName> targets,
      java.util.function.Function<JobRun, R> body,
      java.util.function.Function<R, Map<String, ?>> metrics) {
    Principal who = principal();
    for (TableName t : reads) {
      spec(t);
      require(Privilege.SELECT, t);
      if (!new AccessPolicies(db).appliedTo(who, t).none()) {
        // the job's own statements read stored values, and write what they derive from them
        throw new AccessDeniedException(
            String.format(
                "%s cannot read table %s as principal %s: a column mask or row filter applies to"
                    + " %s on it, and %s would write what it reads, unmasked, into other tables."
                    + " Run it as a principal without policies on %s.",
                job, t, who.name(), who.name(), job, t));
      }
    }
    for (TableName t : targets) {
      spec(t);
      require(Privilege.MODIFY, t);
    }
    SparkSession session = WriteSession.of(spark);
    return record(
        job,
        claim,
        parameters,
        targets,
        true,
        recording -> {
          JobRun run =
              new JobRun(
                  this,
                  recording,
                  session,
                  java.util.Set.copyOf(reads),
                  java.util.Set.copyOf(targets));
          R result = body.apply(run);
          run.outputs().forEach(recording::output);
          return result;
        },
        metrics);
  }

  /**
   * Table {@code table} as it was at {@code version} (a Delta version or an Iceberg snapshot id; a
   * negative version is the current table, as an Iceberg table without a snapshot has), read in
   * this lakehouse's session, so the access guard checks the plans built on it. Lazy.
   */
  public Dataset<Row> read(TableName table, long version) {
    return read(spark, table, version);
  }

  /** {@link #read(TableName, long)} in {@code session} (a job's write session). */
  Dataset<Row> read(SparkSession session, TableName table, long version) {
    String name = sqlName(spec(table));
    return version < 0
        ? session.table(name)
        : session.sql("SELECT * FROM " + name + " VERSION AS OF " + version);
  }

  /**
   * The table's current version: its Delta version or Iceberg snapshot id ({@code -1} for an
   * Iceberg table without a snapshot).
   */
  public long currentVersion(TableName table) {
    return operations(spec(table).format()).currentVersion(table);
  }

  private void recordVersions(List<Artifact> outputs) {
    for (Artifact out : outputs) {
      if (out.kind() == Artifact.Kind.TABLE && !out.version().isEmpty()) {
        registry.recordVersion(TableName.parse(out.name()), Long.parseLong(out.version()));
      }
    }
  }

  /**
   * Closes the runs of this host whose process died after recording targets (run by {@link #open},
   * so before any job of this lakehouse starts a run, which marks the others abandoned): a run
   * whose run id is on a commit of one of its targets is recorded as succeeded with those versions
   * (its process committed, then died or lost the catalog before closing it); the others are left
   * to {@link RunLog#start}, which marks them abandoned. Never fails the command that opened the
   * lakehouse: a problem is logged.
   */
  void reconcileDeadRuns() {
    try {
      for (RunLog.DeadRun dead : runs().deadRuns()) {
        List<Artifact> outputs = new ArrayList<>();
        for (Artifact target : dead.targets()) {
          TableName t = TableName.parse(target.name());
          findSpec(t)
              .ifPresent(
                  spec ->
                      operations(spec.format())
                          .committedBy(t, dead.id())
                          .ifPresent(v -> outputs.add(Artifact.table(t.toString(), v))));
        }
        if (!outputs.isEmpty() && runs().reconcile(dead.id(), outputs, principal())) {
          recordVersions(outputs);
          LOG.warn(
              "Run {} ({}) ended without being closed after committing {}: recorded it as"
                  + " succeeded from the tables' history.",
              dead.id(),
              dead.job(),
              outputs);
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("Could not reconcile unclosed runs: {}", e.getMessage());
    }
  }

  /**
   * Runs one SQL statement of the user's, as the principal: the access extension checks what it
   * will run. A statement that writes one lakehouse table ({@code INSERT}, {@code MERGE}, {@code
   * UPDATE}, {@code DELETE}) is a recorded run ({@code sql}) like every other write: recorded
   * before it runs, its commit tagged with the run and read back for the version, retried when a
   * concurrent writer conflicts, audited when it ends. Anything else runs as it is.
   */
  public Dataset<Row> sql(String statement) {
    Optional<TableName> target =
        dev.lakeforge.lakehouse.access.WriteTargets.of(SqlPlans.parse(spark, statement))
            .filter(UnresolvedRelation.class::isInstance)
            .map(r -> tablesBySqlName().get(SqlPlans.parts((UnresolvedRelation) r)));
    if (target.isEmpty()) {
      return spark.sql(statement);
    }
    TableName table = target.get();
    TableOperations ops = operations(spec(table).format());
    Map<String, String> params = new java.util.LinkedHashMap<>();
    params.put("table", table.toString());
    params.put("statement", statement);
    List<Dataset<Row>> result = new ArrayList<>(1);
    return record(
        "sql",
        Optional.empty(),
        params,
        List.of(table),
        false,
        run -> {
          Committer.Outcome o =
              Committer.commit(
                  ops,
                  spark,
                  table,
                  new CommitTag(run.id(), Optional.empty()),
                  () -> result.add(spark.sql(statement))); // only a statement that ran adds
          run.input(Artifact.table(table.toString(), o.versionBefore()));
          o.committed().ifPresent(v -> run.output(Artifact.table(table.toString(), v)));
          return result.get(0);
        },
        Lakehouse::statementMetrics);
  }

  /** A DML statement's one-row result (rows inserted, updated, deleted…) as run metrics. */
  private static Map<String, ?> statementMetrics(Dataset<Row> result) {
    List<Row> rows = result.limit(2).collectAsList(); // a command's result: already computed
    Map<String, Object> m = new java.util.TreeMap<>();
    if (rows.size() == 1) {
      String[] names = result.columns();
      for (int i = 0; i < names.length; i++) {
        m.put(names[i], String.valueOf(rows.get(0).get(i)));
      }
    }
    return m;
  }

  /**
   * Who runs this job: the session's {@value Principal#SPARK_CONF}, else {@link Principal#resolve}.
   */
  public Principal principal() {
    return AccessControl.sessionPrincipal(db, spark.conf().get(Principal.SPARK_CONF, null));
  }

  private TableCatalog catalog(TableFormat format) {
    String name = format == TableFormat.DELTA ? "spark_catalog" : platform.icebergCatalog();
    return (TableCatalog) dev.lakeforge.core.SparkInternals.catalog(spark, name);
  }

  private static Identifier ident(TableName t) {
    return Identifier.of(new String[] {t.namespace()}, t.table());
  }

  boolean exists(TableName table, TableFormat format) {
    return catalog(format).tableExists(ident(table));
  }

  /** The table's current schema, properties and partitioning, as the format reports them. */
  @SuppressWarnings("deprecation")
  TableState state(TableName table, TableFormat format) {
    try {
      Table t = catalog(format).loadTable(ident(table));
      List<String> partitions = new ArrayList<>();
      for (Transform tr : t.partitioning()) {
        for (NamedReference ref : tr.references()) {
          partitions.add(String.join(".", Arrays.asList(ref.fieldNames())));
        }
      }
      return new TableState(t.schema(), new HashMap<>(t.properties()), partitions);
    } catch (org.apache.spark.sql.catalyst.analysis.NoSuchTableException e) {
      throw LakehouseException.notRegistered(table);
    }
  }

  private void attachDeltaTables() {
    for (RegisteredTable r : registry.list()) {
      if (!r.format().equals(TableFormat.DELTA.label()) || exists(r.name(), TableFormat.DELTA)) {
        continue;
      }
      try {
        spark.sql(
            "CREATE NAMESPACE IF NOT EXISTS spark_catalog." + Sql.ident(r.name().namespace()));
        spark.sql(
            String.format(
                "CREATE TABLE IF NOT EXISTS %s USING delta LOCATION %s",
                r.name(), Sql.literal(r.location())));
      } catch (Exception e) {
        LOG.warn(
            "Delta table {} is registered at {} but cannot be attached ({}); it is skipped. Re-apply its spec or"
                + " restore the files.",
            r.name(),
            r.location(),
            e.getMessage());
      }
    }
  }
}
