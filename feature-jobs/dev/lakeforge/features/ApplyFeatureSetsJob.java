package dev.lakeforge.features;

import static java.util.Objects.requireNonNull;

import dev.lakeforge.catalog.FeatureSetRegistry;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.RegisteredFeatureSet;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.SparkSession;

/**
 * Registers feature sets ({@code lakeforge features apply}): checks every definition against its
 * source table's schema first (no Spark job; nothing changes if one fails), creates or evolves the
 * feature tables through {@link ApplyTablesJob} (MODIFY on each), then records each definition in
 * the catalog. Needs SELECT on each source. Re-applying an unchanged definition changes nothing.
 *
 * @param definitions the feature sets to register
 */
public record ApplyFeatureSetsJob(List<FeatureSetDefinition> definitions) {
  public ApplyFeatureSetsJob {
    requireNonNull(definitions, "definitions is null");
    definitions = List.copyOf(definitions);
    if (definitions.isEmpty()) {
      throw new SpecException("no feature-set spec to apply: name a spec file or a folder.");
    }
  }

  /**
   * What happened to one feature set.
   *
   * @param featureSet its name
   * @param table its feature table
   * @param action what {@link ApplyTablesJob} did to the feature table
   * @param definition {@code registered}, {@code changed} or {@code unchanged}
   * @param sha256 the registered text's sha256
   */
  public record Outcome(
      String featureSet,
      TableName table,
      ApplyTablesJob.Action action,
      String definition,
      String sha256) {}

  /** The outcome per feature set, in the order given. */
  public record Result(List<Outcome> featureSets) {}

  public Result run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    FeatureSetRegistry registry = new FeatureSetRegistry(lh.catalog());
    List<TableSpec> tables = new ArrayList<>();
    Map<TableName, String> sources = new HashMap<>();
    Map<TableName, String> owners = new HashMap<>();
    for (FeatureSetDefinition d : definitions) {
      FeatureSetSpec spec = d.spec();
      TableSpec source =
          lh.findSpec(spec.source().table())
              .orElseThrow(
                  () ->
                      new SpecException(
                          String.format(
                              "%s: feature set %s: `source.table` names table %s, which does not"
                                  + " exist: create it (lakeforge tables apply) or fix the name.",
                              d.source(), spec.name(), spec.source().table())));
      lh.require(Privilege.SELECT, spec.source().table());
      TableName out = spec.output().table();
      String other = owners.putIfAbsent(out, spec.name());
      Optional<RegisteredFeatureSet> registeredOwner =
          registry.list().stream()
              .filter(r -> r.outputTable().equals(out) && !r.name().equals(spec.name()))
              .findFirst();
      if (other != null || registeredOwner.isPresent()) {
        throw new SpecException(
            String.format(
                "%s: feature set %s: `output.table` %s is already the table of feature set %s:"
                    + " give each feature set its own table.",
                d.source(),
                spec.name(),
                out,
                other != null ? other : registeredOwner.get().name()));
      }
      boolean ours = registry.find(spec.name()).map(r -> r.outputTable().equals(out)).orElse(false);
      if (lh.findSpec(out).isPresent() && !ours) {
        throw new SpecException(
            String.format(
                "%s: feature set %s: `output.table` %s already exists and is not this feature"
                    + " set's table: name a new table.",
                d.source(), spec.name(), out));
      }
      FeatureComputation computation =
          FeatureComputation.check(spec, d.source(), source.schema(), spark);
      tables.add(d.tableSpec(computation.output()));
      sources.put(out, d.source());
    }
    ApplyTablesJob.Result applied = new ApplyTablesJob(tables, sources).run(spark);
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < definitions.size(); i++) {
      FeatureSetDefinition d = definitions.get(i);
      Optional<String> before = registry.find(d.spec().name()).map(RegisteredFeatureSet::sha256);
      String definition =
          before.isEmpty()
              ? "registered"
              : before.get().equals(d.sha256()) ? "unchanged" : "changed";
      if (!definition.equals("unchanged")) {
        registry.put(
            d.spec().name(),
            d.spec().output().table(),
            d.spec().source().table(),
            d.text(),
            lh.principal());
      }
      outcomes.add(
          new Outcome(
              d.spec().name(),
              d.spec().output().table(),
              applied.tables().get(i).action(),
              definition,
              d.sha256()));
    }
    return new Result(List.copyOf(outcomes));
  }
}
