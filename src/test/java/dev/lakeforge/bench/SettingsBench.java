package dev.lakeforge.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures the embedded-mode Spark settings Lakeforge chose ({@code
 * spark.databricks.delta.snapshotPartitions} and {@code
 * spark.sql.sources.parallelPartitionDiscovery.parallelism}, both 8) against Delta's and Spark's
 * defaults (50 and 10,000), in one process, through the production jobs: small Delta commits,
 * maintenance (VACUUM) and ingests into Delta and Iceberg.
 *
 * <p>An untimed first round writes the raw files and warms up the JVM. Then each repeat runs one
 * round per profile, alternating which goes first, each on its own SparkSession and Lakeforge home.
 * The report gives the median of the samples and the speed-up (defaults' time / Lakeforge's time)
 * as a Markdown table on stdout; progress goes to stderr.
 *
 * <p>Usage: {@code bench/run [--rows N] [--repeats N] [--commits N] [--ingests N]}.
 */
public final class SettingsBench {
  /** Orders ingested by default: small enough for a run of a few minutes on two cores. */
  static final long ROWS_DEFAULT = 50_000;

  /**
   * Rounds per profile by default; the defaults' maintenance alone takes minutes per round on two
   * cores.
   */
  static final int REPEATS_DEFAULT = 1;

  /**
   * Timed small commits per round by default; with the warm-up ones the table then has ~10
   * versions.
   */
  static final int COMMITS_DEFAULT = 8;

  /** Timed ingests per format, mode and round by default. */
  static final int INGESTS_DEFAULT = 3;

  private SettingsBench() {}

  /**
   * The command line.
   *
   * @param rows orders in the ingested CSV
   * @param repeats rounds per profile
   * @param commits timed small commits per round
   * @param ingests timed ingests per format, mode and round
   */
  record Options(long rows, int repeats, int commits, int ingests) {
    static Options parse(String... args) {
      long rows = ROWS_DEFAULT;
      int repeats = REPEATS_DEFAULT;
      int commits = COMMITS_DEFAULT;
      int ingests = INGESTS_DEFAULT;
      for (int i = 0; i < args.length; i += 2) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(
              String.format("%s needs a value, e.g. %s 3.", args[i], args[i]));
        }
        long value;
        try {
          value = Long.parseLong(args[i + 1].replace("_", ""));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              String.format(
                  "%s '%s' is not a whole number, e.g. %s 3.", args[i], args[i + 1], args[i]),
              e);
        }
        switch (args[i]) {
          case "--rows" -> rows = value;
          case "--repeats" -> repeats = (int) value;
          case "--commits" -> commits = (int) value;
          case "--ingests" -> ingests = (int) value;
          default ->
              throw new IllegalArgumentException(
                  String.format(
                      "Unknown option '%s': valid options are --rows, --repeats, --commits and --ingests.",
                      args[i]));
        }
      }
      if (rows < 1 || repeats < 1 || commits < 1 || ingests < 1) {
        throw new IllegalArgumentException(
            String.format(
                "--rows %d, --repeats %d, --commits %d, --ingests %d: each must be at least 1.",
                rows, repeats, commits, ingests));
      }
      return new Options(rows, repeats, commits, ingests);
    }
  }

  public static void main(String[] args) throws IOException {
    Options options = Options.parse(args);
    // Delta's VACUUM prints to stdout; keep stdout for the report alone.
    PrintStream report = System.out;
    System.setOut(System.err);
    Path work = Files.createTempDirectory("lakeforge-bench-");
    try {
      progress("working in " + work + " with " + options);
      BenchData data;
      try (BenchRound first = BenchRound.start(Profile.LAKEFORGE, work.resolve("warm-up"))) {
        data = BenchData.write(first.spark(), work.resolve("raw"), options.rows());
        first.warmUp(data, 1, true);
      }
      List<Sample> samples = new ArrayList<>();
      Map<Profile, String> settings = new EnumMap<>(Profile.class);
      for (int r = 0; r < options.repeats(); r++) {
        List<Profile> order =
            r % 2 == 0
                ? List.of(Profile.DEFAULTS, Profile.LAKEFORGE)
                : List.of(Profile.LAKEFORGE, Profile.DEFAULTS);
        for (Profile p : order) {
          try (BenchRound round = BenchRound.start(p, work.resolve("round-" + r + "-" + p))) {
            settings.put(p, round.settings());
            progress(
                String.format(
                    "round %d/%d, %s: %s", r + 1, options.repeats(), p.label(), round.settings()));
            round.warmUp(data, options.ingests(), false);
            samples.addAll(round.measure(data, options.commits(), options.ingests()));
          }
        }
      }
      report.print(report(samples, settings, options));
      report.flush();
    } finally {
      BenchFiles.deleteRecursively(work);
    }
  }

  static void progress(String line) {
    System.err.println("[bench] " + line);
  }

  /** The Markdown report: one row per measurement, then MERGE against APPEND per format. */
  static String report(List<Sample> samples, Map<Profile, String> settings, Options options) {
    StringBuilder out = new StringBuilder();
    settings.forEach((p, s) -> out.append(String.format("- %s: `%s`%n", p.label(), s)));
    out.append(
        String.format(
            Locale.ROOT,
            "- %,d orders ingested; %d round(s) per profile, each with %d timed commits, %d timed ingests per"
                + " format and mode, 1 maintenance dry run and 1 maintenance%n%n",
            options.rows(),
            options.repeats(),
            options.commits(),
            options.ingests()));
    out.append("| measurement | ")
        .append(Profile.DEFAULTS.label())
        .append(" | ")
        .append(Profile.LAKEFORGE.label())
        .append(" | speed-up | Spark tasks | samples |\n|---|---:|---:|---:|---:|---:|\n");
    for (Measurement m : Measurement.values()) {
      List<Sample> base = select(samples, m, Profile.DEFAULTS);
      List<Sample> lf = select(samples, m, Profile.LAKEFORGE);
      if (base.isEmpty() || lf.isEmpty()) {
        continue;
      }
      double b = BenchFiles.median(base.stream().map(Sample::seconds).toList());
      double l = BenchFiles.median(lf.stream().map(Sample::seconds).toList());
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %s | %.2f× | %.0f → %.0f | %d + %d |%n",
              m.label(),
              cell(m, base, b, options),
              cell(m, lf, l, options),
              b / l,
              BenchFiles.median(base.stream().map(s -> (double) s.tasks()).toList()),
              BenchFiles.median(lf.stream().map(s -> (double) s.tasks()).toList()),
              base.size(),
              lf.size()));
    }
    out.append(
            "\nMERGE against APPEND into an empty table, with Lakeforge's settings (median times):\n\n")
        .append("| format | APPEND | MERGE | MERGE time / APPEND time |\n|---|---:|---:|---:|\n");
    for (Measurement[] pair :
        List.of(
            new Measurement[] {Measurement.DELTA_APPEND, Measurement.DELTA_MERGE},
            new Measurement[] {Measurement.ICEBERG_APPEND, Measurement.ICEBERG_MERGE})) {
      double append = BenchFiles.median(secondsOf(samples, pair[0]));
      double merge = BenchFiles.median(secondsOf(samples, pair[1]));
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %s | %.2f |%n",
              pair[0].format(),
              throughput(options.rows(), append),
              throughput(options.rows(), merge),
              merge / append));
    }
    return out.toString();
  }

  private static List<Sample> select(List<Sample> samples, Measurement m, Profile p) {
    return samples.stream().filter(s -> s.measurement() == m && s.profile() == p).toList();
  }

  private static List<Double> secondsOf(List<Sample> samples, Measurement m) {
    return select(samples, m, Profile.LAKEFORGE).stream().map(Sample::seconds).toList();
  }

  /** Median time with the range of the samples; ingests as throughput at the median time. */
  private static String cell(Measurement m, List<Sample> samples, double median, Options options) {
    double min = samples.stream().mapToDouble(Sample::seconds).min().orElseThrow();
    double max = samples.stream().mapToDouble(Sample::seconds).max().orElseThrow();
    String range = String.format(Locale.ROOT, "%.2f s [%.2f–%.2f]", median, min, max);
    return m.ingest() ? throughput(options.rows(), median) + " (" + range + ")" : range;
  }

  private static String throughput(long rows, double seconds) {
    return String.format(Locale.ROOT, "%,.0f rows/s", rows / seconds);
  }
}
