package dev.lakeforge.cli;

import dev.lakeforge.catalog.FeatureSetRegistry;
import dev.lakeforge.catalog.RegisteredFeatureSet;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.features.ApplyFeatureSetsJob;
import dev.lakeforge.features.Durations;
import dev.lakeforge.features.FeatureMaterializeJob;
import dev.lakeforge.features.FeatureSetDefinition;
import dev.lakeforge.features.FeatureSetSpec;
import dev.lakeforge.features.TrainingSetJob;
import dev.lakeforge.features.TrainingSetSpec;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.StringJoiner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakeforge features ...}: feature sets, their materialization, and training sets. */
@Command(
    name = "features",
    mixinStandardHelpOptions = true,
    description = "Register and materialize feature sets; build point-in-time training sets.",
    subcommands = {
      FeaturesCommand.Apply.class,
      FeaturesCommand.Materialize.class,
      FeaturesCommand.Stats.class,
      FeaturesCommand.ListSets.class,
      FeaturesCommand.Show.class,
      FeaturesCommand.TrainingSet.class
    })
final class FeaturesCommand {

  /** Base of the feature subcommands. */
  abstract static class Sub extends Subcommand {}

  @Command(
      name = "apply",
      mixinStandardHelpOptions = true,
      description = {
        "Validate feature-set specs, create or evolve their feature tables, and register them.",
        "Every spec is checked against its source table first; if one fails nothing changes."
      })
  static final class Apply extends Sub {
    @Parameters(
        arity = "0..1",
        paramLabel = "SPEC",
        description = "A spec file or a folder of *.yaml specs (default: conf/features).")
    Path path;

    @Override
    void run() {
      Path p = path != null ? path : root().tableSpecs().resolveSibling("features");
      List<FeatureSetDefinition> defs = FeatureSetDefinition.load(p); // before the session starts
      var result = new ApplyFeatureSetsJob(defs).run(root().spark());
      TextTable t = new TextTable(List.of("feature set", "table", "table action", "definition"));
      for (var o : result.featureSets()) {
        t.add(
            o.featureSet(),
            o.table(),
            o.action().name().toLowerCase(Locale.ROOT),
            o.definition() + " (sha256 " + o.sha256().substring(0, 12) + ")");
      }
      out().print(t.render());
    }
  }

  @Command(
      name = "materialize",
      mixinStandardHelpOptions = true,
      description = {
        "Compute a feature set at every grain boundary of a range and MERGE it into its table.",
        "Without --from it continues where the last materialization stopped; re-running a range"
            + " is idempotent and picks up late source rows."
      })
  static final class Materialize extends Sub {
    @Parameters(index = "0", paramLabel = "NAME", description = "The feature set.")
    String name;

    @Option(
        names = "--from",
        paramLabel = "TIME",
        description =
            "First boundary, UTC: 2026-03-01, 2026-03-01T06:00:00Z or '2026-03-01 06:00'.")
    String from;

    @Option(
        names = "--to",
        paramLabel = "TIME",
        description =
            "End of the range, exclusive (default: just after the last boundary before now).")
    String to;

    @Override
    void run() {
      FeatureMaterializeJob.Builder b = FeatureMaterializeJob.builder(name);
      if (from != null) {
        b.optFrom(instant("--from", from));
      }
      if (to != null) {
        b.optTo(instant("--to", to));
      }
      var r = b.build().run(root().spark());
      if (r.runId().isEmpty()) {
        out().printf("%s is up to date (materialized until %s).%n", r.featureSet(), r.from());
        return;
      }
      if (r.skipped()) {
        out()
            .printf(
                "%s: [%s, %s) was already materialized from this source version (%d); nothing"
                    + " written.%n",
                r.featureSet(), r.from(), r.to(), r.sourceVersion());
        return;
      }
      out()
          .printf(
              "%s: [%s, %s) from source version %d: %d rows merged into %s, version %s, in %s"
                  + " (run %s)%n",
              r.featureSet(),
              r.from(),
              r.to(),
              r.sourceVersion(),
              r.rowsWritten(),
              r.table(),
              r.tableVersion().isPresent() ? String.valueOf(r.tableVersion().getAsLong()) : "-",
              Progress.seconds(r.duration().toNanos()),
              r.runId().get());
    }
  }

  @Command(
      name = "stats",
      mixinStandardHelpOptions = true,
      description = "Per-feature statistics of the last materialization.")
  static final class Stats extends Sub {
    @Parameters(index = "0", paramLabel = "NAME", description = "The feature set.")
    String name;

    @Override
    void run() {
      Lakehouse lh = root().lakehouse();
      FeatureSetDefinition.registered(lh, name);
      var last = FeatureMaterializeJob.last(lh, name);
      if (last.isEmpty()) {
        out().printf("%s has not been materialized yet.%n", name);
        return;
      }
      var m = last.get();
      out()
          .printf(
              "%s: [%s, %s) from source version %d, %d rows written (run %s, ended %s)%n",
              name, m.from(), m.to(), m.sourceVersion(), m.rowsWritten(), m.runId(), m.endedAt());
      TextTable t = new TextTable(List.of("feature", "count", "nulls", "min", "max", "mean"));
      m.stats()
          .forEach(
              (f, s) ->
                  t.add(
                      f,
                      s.count(),
                      s.nulls(),
                      s.min().orElse(""),
                      s.max().orElse(""),
                      s.mean().isPresent() ? String.format("%.6g", s.mean().getAsDouble()) : ""));
      out().print(t.render());
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The feature sets.")
  static final class ListSets extends Sub {
    @Override
    void run() {
      Lakehouse lh = root().lakehouse();
      TextTable t =
          new TextTable(
              List.of("feature set", "source", "table", "grain", "ttl", "features", "until"));
      for (RegisteredFeatureSet r : new FeatureSetRegistry(lh.catalog()).list()) {
        FeatureSetSpec s = FeatureSetDefinition.of(r).spec();
        t.add(
            r.name(),
            r.sourceTable(),
            r.outputTable(),
            s.grain().label(),
            Durations.format(s.ttl()),
            String.join(", ", s.featureNames()),
            FeatureMaterializeJob.last(lh, r.name())
                .map(m -> m.to().toString())
                .orElse("(never materialized)"));
      }
      out().print(t.render());
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "A feature set's registered spec and its last materialization.")
  static final class Show extends Sub {
    @Parameters(index = "0", paramLabel = "NAME", description = "The feature set.")
    String name;

    @Override
    void run() {
      Lakehouse lh = root().lakehouse();
      FeatureSetDefinition.registered(lh, name); // fails naming the registered ones if absent
      RegisteredFeatureSet r = new FeatureSetRegistry(lh.catalog()).find(name).orElseThrow();
      PrintWriter o = out();
      o.printf("feature set:  %s%n", r.name());
      o.printf("source:       %s%n", r.sourceTable());
      o.printf("table:        %s%n", r.outputTable());
      o.printf("sha256:       %s%n", r.sha256());
      o.printf("registered:   by %s, last %s%n", r.registeredBy(), r.updatedAt());
      o.printf(
          "materialized: %s%n",
          FeatureMaterializeJob.last(lh, name)
              .map(m -> "[" + m.from() + ", " + m.to() + ") by run " + m.runId())
              .orElse("never"));
      o.println("spec:");
      r.spec().lines().forEach(l -> o.println("  " + l));
    }
  }

  @Command(
      name = "training-set",
      mixinStandardHelpOptions = true,
      description = {
        "Build a training set: the spine joined point in time with feature sets and tables.",
        "The output table is rebuilt whole (a new version) unless its current version was built"
            + " from the same spec and input versions; the run records the version of every"
            + " input read."
      })
  static final class TrainingSet extends Sub {
    @Parameters(index = "0", paramLabel = "SPEC", description = "The training-set spec (YAML).")
    Path spec;

    @Option(
        names = "--as-of-versions",
        paramLabel = "RUN_ID",
        description =
            "Read every input at the version this recorded run read (bit-for-bit rebuild).")
    String asOf;

    @Override
    void run() {
      TrainingSetSpec s = YamlSpecReader.read(spec, TrainingSetSpec.class, "training-set spec");
      TrainingSetJob.Builder b = TrainingSetJob.builder(s).optSource(spec.toString());
      Optional.ofNullable(asOf).ifPresent(b::optAsOfVersions);
      var r = b.build().run(root().spark());
      StringJoiner read = new StringJoiner(", ");
      r.versionsRead().forEach((t, v) -> read.add(t + "@" + v));
      if (r.skipped()) {
        out()
            .printf(
                "%s is up to date: version %s was built from this spec and %s; nothing written"
                    + " (run %s).%n",
                r.table(),
                r.tableVersion().isPresent() ? String.valueOf(r.tableVersion().getAsLong()) : "-",
                read,
                r.runId());
        return;
      }
      out()
          .printf(
              "%s: %d rows written, version %s, from %s in %s (run %s)%n",
              r.table(),
              r.rowsWritten(),
              r.tableVersion().isPresent() ? String.valueOf(r.tableVersion().getAsLong()) : "-",
              read,
              Progress.seconds(r.duration().toNanos()),
              r.runId());
    }
  }

  /** Reads an instant in UTC: a date, a date-time with or without zone. */
  static Instant instant(String option, String text) {
    String t = text.trim();
    try {
      if (t.length() == 10) {
        return LocalDate.parse(t).atStartOfDay().toInstant(ZoneOffset.UTC);
      }
      if (t.endsWith("Z") || t.matches(".*[+-]\\d\\d:\\d\\d$")) {
        return java.time.OffsetDateTime.parse(t.replace(' ', 'T')).toInstant();
      }
      String local = t.replace(' ', 'T');
      return LocalDateTime.parse(local.length() == 16 ? local + ":00" : local)
          .toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw new SpecException(
          String.format(
              "%s '%s' is not a time: write 2026-03-01, 2026-03-01T06:00:00Z or '2026-03-01"
                  + " 06:00' (UTC).",
              option, text),
          e);
    }
  }
}
