package dev.lakeforge.lakehouse;

import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.core.TableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.StringJoiner;
import org.apache.spark.sql.SparkSession;

/**
 * Creates or evolves the tables declared by a set of specs, all or nothing at the planning stage:
 * every spec is compared with its table first, and if any plan has a breaking change the job fails
 * naming each one and changes no table. Re-applying an unchanged spec runs no statement, so it
 * makes no new table version.
 *
 * <p>A new table's folder must be its own: its location (the spec's {@code location:} or the
 * default folder in the warehouse) may not equal, contain or lie inside another table's location
 * (registered or in the same batch), equal or contain the warehouse or Iceberg warehouse root, or
 * overlap the model store or the catalog's files; maintenance deletes the files a table does not
 * track, so a shared folder would lose them. A registered table keeps the location it was created
 * with (it was checked then and cannot move).
 *
 * @param specs the specs to apply
 * @param sources where each spec was read from (e.g. its file), named in errors; may miss specs
 */
public record ApplyTablesJob(List<TableSpec> specs, Map<TableName, String> sources) {
  public ApplyTablesJob {
    Objects.requireNonNull(specs, "specs is null");
    specs = List.copyOf(specs);
    sources = sources == null ? Map.of() : Map.copyOf(sources);
  }

  /** Applies {@code specs}, read from nowhere in particular. */
  public ApplyTablesJob(List<TableSpec> specs) {
    this(specs, Map.of());
  }

  /** What happened to one table. */
  public enum Action {
    CREATED,
    EVOLVED,
    UNCHANGED
  }

  /**
   * The outcome for one table.
   *
   * @param table the table
   * @param format its format
   * @param action what was done
   * @param changes one line per change made
   * @param version the table version after the job
   */
  public record TableOutcome(
      TableName table, TableFormat format, Action action, List<String> changes, long version) {}

  /** The outcome of the job, per table, in spec order. */
  public record Result(List<TableOutcome> tables) {}

  public Result run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    specs.forEach(s -> lh.require(dev.lakeforge.catalog.Privilege.MODIFY, s.name()));
    return lh.recorded(
        "tables.apply",
        java.util.Map.of(
            "tables", specs.stream().map(s -> s.name().toString()).toList().toString()),
        run -> {
          Result r = apply(spark, lh);
          r.tables().stream()
              .filter(o -> o.action() != Action.UNCHANGED)
              .forEach(
                  o ->
                      run.output(
                          dev.lakeforge.catalog.Artifact.table(o.table().toString(), o.version())));
          return r;
        },
        r ->
            java.util.Map.of(
                "created", r.tables().stream().filter(o -> o.action() == Action.CREATED).count(),
                "evolved", r.tables().stream().filter(o -> o.action() == Action.EVOLVED).count()));
  }

  private Result apply(SparkSession spark, Lakehouse lh) {
    List<Optional<SchemaEvolution.Plan>> plans = new ArrayList<>();
    StringJoiner refused = new StringJoiner("\n");
    for (TableSpec spec : specs) {
      Optional<SchemaEvolution.Plan> plan = plan(lh, spec);
      plans.add(plan);
      plan.ifPresent(
          p ->
              p.problems()
                  .forEach(pr -> refused.add(String.format("  - %s: %s", label(spec), pr))));
    }
    locationProblems(lh).forEach(refused::add);
    if (refused.length() > 0) {
      throw new LakehouseException(
          specs.size() == 1 ? specs.get(0).name() : null,
          "Refusing to apply the table specs; no table was changed:\n" + refused);
    }
    List<TableOutcome> outcomes = new ArrayList<>();
    for (int i = 0; i < specs.size(); i++) {
      TableSpec spec = specs.get(i);
      SchemaEvolution.Plan plan = plans.get(i).orElse(null);
      TableOperations ops = lh.operations(spec.format());
      Action action;
      if (plan == null) {
        create(lh, spec);
        action = Action.CREATED;
      } else if (plan.unchanged()) {
        action = Action.UNCHANGED;
      } else {
        spark.sparkContext().setJobDescription("lakeforge: evolve " + spec.name());
        plan.statements().forEach(spark::sql);
        action = Action.EVOLVED;
      }
      lh.register(spec);
      outcomes.add(
          new TableOutcome(
              spec.name(),
              spec.format(),
              action,
              plan == null ? List.of("create") : plan.changes(),
              ops.currentVersion(spec.name())));
    }
    spark.sparkContext().setJobDescription(null);
    return new Result(List.copyOf(outcomes));
  }

  private String label(TableSpec spec) {
    String source = sources.get(spec.name());
    return source == null ? spec.name().toString() : spec.name() + " (" + source + ")";
  }

  /** One line per new table whose location would share files with another or the platform's. */
  private List<String> locationProblems(Lakehouse lh) {
    List<Locations.Area> areas = Locations.platformAreas(lh.platform());
    List<RegisteredTable> registered = lh.registry().list();
    List<String> problems = new ArrayList<>();
    Map<TableName, Locations.Location> batch = new java.util.LinkedHashMap<>();
    for (TableSpec spec : specs) {
      if (lh.registry().find(spec.name()).isPresent()) {
        continue;
      }
      String raw = lh.location(spec);
      String field =
          spec.location().isPresent()
              ? String.format("field `location` (%s)", raw)
              : String.format("the default location (%s, no field `location`)", raw);
      String fix =
          spec.location().isPresent()
              ? String.format(
                  "Give the table a folder of its own in `location`, or remove `location` to use"
                      + " the default %s/%s/%s/%s.",
                  lh.platform().warehouse(),
                  spec.format().label(),
                  spec.name().namespace(),
                  spec.name().table())
              : "Set `location` to a folder of its own, or choose another table name.";
      Locations.Location loc;
      try {
        loc = Locations.of(raw);
      } catch (IllegalArgumentException e) {
        problems.add(
            String.format(
                "  - %s: %s is not a location: %s. Write an absolute path or a URI such as"
                    + " s3a://bucket/path.",
                label(spec), field, e.getMessage()));
        continue;
      }
      for (Locations.Area area : areas) {
        if (area.conflictsWithTable(loc)) {
          problems.add(
              String.format(
                  "  - %s: %s %s %s: a table's folder may not hold the platform's files. %s",
                  label(spec), field, relation(loc, area.location()), area, fix));
        }
      }
      for (RegisteredTable other : registered) {
        if (other.name().equals(spec.name())) {
          continue;
        }
        Locations.Location theirs;
        try {
          theirs = Locations.of(other.location());
        } catch (IllegalArgumentException e) {
          continue; // a location we cannot read back shares nothing we can name
        }
        if (loc.overlaps(theirs)) {
          problems.add(overlap(spec, field, loc, other.name(), theirs, fix));
        }
      }
      for (var earlier : batch.entrySet()) {
        if (loc.overlaps(earlier.getValue())) {
          problems.add(
              overlap(spec, field, loc, earlier.getKey(), earlier.getValue(), fix)
                  + " (both are in this batch)");
        }
      }
      batch.put(spec.name(), loc);
    }
    return problems;
  }

  private String overlap(
      TableSpec spec,
      String field,
      Locations.Location loc,
      TableName other,
      Locations.Location theirs,
      String fix) {
    return String.format(
        "  - %s: %s %s the location of table %s (%s): two tables may not share files. %s",
        label(spec), field, relation(loc, theirs), other, theirs, fix);
  }

  private static String relation(Locations.Location loc, Locations.Location other) {
    if (loc.equals(other)) {
      return "equals";
    }
    return loc.contains(other) ? "contains" : "lies inside";
  }

  /** The evolution plan, or empty if the table does not exist yet. */
  private static Optional<SchemaEvolution.Plan> plan(Lakehouse lh, TableSpec spec) {
    var registered = lh.registry().find(spec.name());
    if (registered.isPresent() && !registered.get().format().equals(spec.format().label())) {
      return Optional.of(
          new SchemaEvolution.Plan(
              List.of(),
              List.of(),
              List.of(
                  String.format(
                      "format changes from %s to %s: a table cannot change format in place. Create a new table.",
                      registered.get().format(), spec.format()))));
    }
    if (!lh.exists(spec.name(), spec.format())) {
      return Optional.empty();
    }
    TableState state = lh.state(spec.name(), spec.format());
    SchemaEvolution.Plan plan =
        SchemaEvolution.plan(spec, state, lh.sqlName(spec), lh.operations(spec.format()));
    if (spec.location().isPresent()
        && !normalize(spec.location().get())
            .equals(normalize(state.property("location").orElse("")))) {
      List<String> problems = new ArrayList<>(plan.problems());
      problems.add(
          String.format(
              "location changes from %s to %s: moving a table is not done in place.",
              state.property("location").orElse("?"), spec.location().get()));
      return Optional.of(new SchemaEvolution.Plan(plan.changes(), plan.statements(), problems));
    }
    return Optional.of(plan);
  }

  private static String normalize(String location) {
    String s = location.startsWith("file:") ? location.substring("file:".length()) : location;
    while (s.startsWith("//")) {
      s = s.substring(1);
    }
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private static void create(Lakehouse lh, TableSpec spec) {
    SparkSession spark = lh.spark();
    spark.sparkContext().setJobDescription("lakeforge: create " + spec.name());
    String catalog =
        spec.format() == TableFormat.DELTA ? "spark_catalog" : lh.platform().icebergCatalog();
    spark.sql(
        String.format(
            "CREATE NAMESPACE IF NOT EXISTS %s.%s", catalog, Sql.ident(spec.name().namespace())));
    StringBuilder ddl = new StringBuilder("CREATE TABLE ").append(lh.sqlName(spec)).append(" (");
    StringJoiner cols = new StringJoiner(", ");
    for (ColumnSpec c : spec.columns()) {
      cols.add(
          Sql.ident(c.name())
              + " "
              + c.dataType().sql()
              + (c.nullable() ? "" : " NOT NULL")
              + c.comment().map(cm -> " COMMENT " + Sql.literal(cm)).orElse(""));
    }
    ddl.append(cols).append(") USING ").append(spec.format().label());
    if (!spec.partitionBy().isEmpty()) {
      StringJoiner parts = new StringJoiner(", ", " PARTITIONED BY (", ")");
      spec.partitionBy().forEach(p -> parts.add(Sql.ident(p)));
      ddl.append(parts);
    }
    spec.description().ifPresent(d -> ddl.append(" COMMENT ").append(Sql.literal(d)));
    if (spec.format() == TableFormat.DELTA || spec.location().isPresent()) {
      ddl.append(" LOCATION ").append(Sql.literal(lh.location(spec)));
    }
    Map<String, String> props = new java.util.TreeMap<>(spec.tableProperties());
    if (spec.format() == TableFormat.ICEBERG) {
      props.putIfAbsent("format-version", "2");
    }
    StringJoiner tp = new StringJoiner(", ", " TBLPROPERTIES (", ")");
    props.forEach((k, v) -> tp.add(Sql.literal(k) + " = " + Sql.literal(v)));
    ddl.append(tp);
    spark.sql(ddl.toString());
  }
}
