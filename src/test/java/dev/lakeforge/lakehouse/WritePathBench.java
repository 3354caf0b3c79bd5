package dev.lakeforge.lakehouse;

import dev.lakeforge.bench.BenchFiles;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.access.AccessScope;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/**
 * Measures what Lakeforge's safe write path costs a small commit, in one process, on the same data,
 * for Delta and Iceberg: (a) the bare Spark SQL statement ({@code INSERT INTO} or {@code MERGE
 * INTO} from a temp view over a CSV file), (b0) the same statement through {@link Committer#commit}
 * with a run tag only (version read, tagged commit, read-back of the committed version), (b) the
 * same with a batch id too (plus the batch check before, and Delta's transaction id), and (c) the
 * whole {@link IngestJob} of the same CSV file, as a user runs it (run recorded in the catalog,
 * type checks, key check for MERGE, then (b)). It also times the history reads of (b) alone ({@code
 * currentVersion}, {@code containsBatch}, {@code committedBy}) and {@link Lakehouse#open}, when the
 * tables have their initial history and again at the end.
 *
 * <p>Each format has one table, given {@code --versions} versions of one-row commits first. Every
 * timed commit writes new keys (MERGE inserts only), so every variant writes the same number of
 * rows into a table of the same size. The first round is an untimed warm-up; the variants' order
 * rotates from round to round so that drifting load hits them alike. Medians as a Markdown report
 * on stdout, progress on stderr.
 *
 * <p>Usage: {@code bench/write-path [--repeats N] [--versions N]}.
 */
public final class WritePathBench {
  /** Timed rounds by default (after one untimed warm-up round). */
  static final int REPEATS_DEFAULT = 3;

  /** One-row commits made before anything is timed, so history reads see a used table. */
  static final int VERSIONS_DEFAULT = 50;

  /** Repeats of each history read timed alone. */
  static final int PROBES = 5;

  static final List<Integer> SIZES = List.of(1, 1000);

  private final SparkSession spark;
  private final Lakehouse lh;
  private final Path raw;
  private final TaskCounter tasks;
  private long nextKey = 1;
  private int files;

  private WritePathBench(SparkSession spark, Path raw) {
    this.spark = spark;
    this.lh = Lakehouse.open(spark);
    this.raw = raw;
    this.tasks = new TaskCounter(spark.sparkContext());
  }

  /** The three ways a commit is made. */
  enum Variant {
    BARE("(a) bare statement"),
    TAGGED("(b0) Committer, tag only"),
    COMMITTER("(b) Committer, tag + batch"),
    INGEST("(c) IngestJob, batch");

    final String label;

    Variant(String label) {
      this.label = label;
    }
  }

  record Sample(
      TableFormat format, WriteMode mode, int rows, Variant variant, double seconds, long tasks) {}

  record Probe(
      TableFormat format, String when, long versions, String what, double seconds, long tasks) {}

  /** Counts the Spark tasks the session runs, to show what each variant adds. */
  static final class TaskCounter extends org.apache.spark.scheduler.SparkListener {
    private final org.apache.spark.SparkContext context;
    private final java.util.concurrent.atomic.AtomicLong finished =
        new java.util.concurrent.atomic.AtomicLong();

    TaskCounter(org.apache.spark.SparkContext context) {
      this.context = context;
      context.addSparkListener(this);
    }

    @Override
    public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd taskEnd) {
      finished.incrementAndGet();
    }

    /** Tasks finished so far, once every event already posted has reached this listener. */
    long settled() {
      try {
        context.listenerBus().waitUntilEmpty();
      } catch (java.util.concurrent.TimeoutException e) {
        throw new IllegalStateException("Spark's listener bus did not drain within 10 s.", e);
      }
      return finished.get();
    }
  }

  public static void main(String[] args) throws IOException {
    int repeats = REPEATS_DEFAULT;
    int versions = VERSIONS_DEFAULT;
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(args[i] + " needs a value, e.g. " + args[i] + " 3.");
      }
      int value = Integer.parseInt(args[i + 1]);
      switch (args[i]) {
        case "--repeats" -> repeats = value;
        case "--versions" -> versions = value;
        default ->
            throw new IllegalArgumentException(
                "Unknown option '" + args[i] + "': valid options are --repeats and --versions.");
      }
    }
    PrintStream report = System.out;
    System.setOut(System.err);
    Path work = Files.createTempDirectory("lakeforge-write-path-");
    long started = System.nanoTime();
    try {
      PlatformConfig config = PlatformConfig.defaults();
      SparkSession spark =
          SessionFactory.getOrCreate(
              config, Platform.resolve(config, work.resolve("home")), Map.of());
      try {
        WritePathBench bench = new WritePathBench(spark, work.resolve("raw"));
        List<Sample> samples = new ArrayList<>();
        List<Probe> probes = new ArrayList<>();
        for (TableFormat f : TableFormat.values()) {
          bench.prepare(f, versions);
          probes.addAll(bench.probe(f, "before"));
        }
        for (int r = 0; r <= repeats; r++) {
          for (TableFormat f : TableFormat.values()) {
            for (WriteMode m : List.of(WriteMode.APPEND, WriteMode.MERGE)) {
              for (int rows : SIZES) {
                for (int v = 0; v < Variant.values().length; v++) {
                  Variant variant = Variant.values()[(v + r) % Variant.values().length];
                  long t0 = bench.tasks.settled();
                  double s = bench.write(f, m, rows, variant);
                  long t = bench.tasks.settled() - t0;
                  progress(
                      String.format(
                          Locale.ROOT,
                          "round %d%s %-7s %-6s %4d rows %-28s %6.2f s %4d tasks",
                          r,
                          r == 0 ? " (warm-up)" : "",
                          f.label(),
                          m,
                          rows,
                          variant.label,
                          s,
                          t));
                  if (r > 0) {
                    samples.add(new Sample(f, m, rows, variant, s, t));
                  }
                }
              }
            }
          }
        }
        for (TableFormat f : TableFormat.values()) {
          probes.addAll(bench.probe(f, "after"));
          bench.check(f);
        }
        report.print(
            report(samples, probes, repeats, versions, (System.nanoTime() - started) / 1e9));
        report.flush();
      } finally {
        spark.stop();
      }
    } finally {
      BenchFiles.deleteRecursively(work);
    }
  }

  static void progress(String line) {
    System.err.println("[bench] " + line);
  }

  private static TableName table(TableFormat f) {
    return new TableName("bench", "writes_" + f.label());
  }

  private TableSpec spec(TableFormat f) {
    return YamlSpecReader.parse(
        """
        name: %s
        format: %s
        columns:
          - {name: id, type: bigint, nullable: false}
          - {name: note, type: string}
        primary-key: [id]
        """
            .formatted(table(f), f.label()),
        TableSpec.class,
        "bench");
  }

  /** Creates {@code f}'s table and gives it {@code versions} one-row commits. */
  private void prepare(TableFormat f, int versions) {
    new ApplyTablesJob(List.of(spec(f))).run(spark);
    String target = lh.sqlName(lh.spec(table(f)));
    long start = System.nanoTime();
    AccessScope.internal(
        () -> {
          for (int i = 0; i < versions; i++) {
            long k = nextKey++;
            spark
                .sql("INSERT INTO " + target + " VALUES (" + k + ", 'history " + k + "')")
                .collect();
          }
        });
    progress(
        String.format(
            Locale.ROOT,
            "%s: %d history commits in %.1f s",
            f.label(),
            versions,
            (System.nanoTime() - start) / 1e9));
  }

  /** Times one commit of {@code rows} new keys into {@code f}'s table, made as {@code variant}. */
  private double write(TableFormat f, WriteMode mode, int rows, Variant variant) {
    Path csv = csv(rows);
    TableName table = table(f);
    TableSpec spec = lh.spec(table);
    String batch = "bench-" + UUID.randomUUID();
    long start = System.nanoTime();
    if (variant == Variant.INGEST) {
      IngestJob.Result r =
          IngestJob.builder(table, csv.toString(), SourceFormat.CSV)
              .optMode(mode)
              .optBatchId(batch)
              .build()
              .run(spark);
      expect(r.rowsWritten() == rows && !r.skipped(), variant, table, r.toString());
    } else {
      AccessScope.internal(
          () -> {
            String view = "bench_" + UUID.randomUUID().toString().replace("-", "");
            spark
                .read()
                .option("header", "true")
                .csv(csv.toString())
                .selectExpr("cast(id as bigint) as id", "note")
                .createOrReplaceTempView(view);
            String sql = statement(lh.sqlName(spec), view, mode);
            try {
              if (variant == Variant.BARE) {
                spark.sql(sql).collect();
              } else {
                Optional<String> batchId =
                    variant == Variant.COMMITTER ? Optional.of(batch) : Optional.empty();
                Committer.Outcome o =
                    Committer.commit(
                        lh.operations(f),
                        spark,
                        table,
                        new CommitTag("bench-run-" + UUID.randomUUID(), batchId),
                        () -> spark.sql(sql).collect());
                expect(o.committed().isPresent() && !o.skipped(), variant, table, o.toString());
              }
            } finally {
              spark.catalog().dropTempView(view);
            }
          });
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static String statement(String target, String view, WriteMode mode) {
    return mode == WriteMode.APPEND
        ? String.format("INSERT INTO %s SELECT id, note FROM %s", target, view)
        : String.format(
            "MERGE INTO %s t USING %s s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.note = s.note"
                + " WHEN NOT MATCHED THEN INSERT *",
            target, view);
  }

  /** A CSV file of {@code rows} keys never written before. */
  private Path csv(int rows) {
    StringBuilder text = new StringBuilder("id,note\n");
    for (int i = 0; i < rows; i++) {
      long k = nextKey++;
      text.append(k).append(",note ").append(k).append('\n');
    }
    try {
      Files.createDirectories(raw);
      return Files.writeString(raw.resolve("batch-" + files++ + ".csv"), text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Times each history read of the write path alone, and {@link Lakehouse#open}. */
  private List<Probe> probe(TableFormat f, String when) {
    TableName table = table(f);
    TableOperations ops = lh.operations(f);
    long versions = AccessScope.internal(() -> (long) ops.history(table).size());
    String lastRun = "bench-absent-run";
    Map<String, Supplier<Object>> reads = new LinkedHashMap<>();
    reads.put("currentVersion", () -> ops.currentVersion(table));
    // a batch that is not there: the whole history is searched, as for every new batch
    reads.put("containsBatch", () -> ops.containsBatch(table, "bench-absent"));
    // a run that is not there: the whole history is searched, the worst case
    reads.put("committedBy", () -> ops.committedBy(table, lastRun));
    reads.put("Lakehouse.open", () -> Lakehouse.open(spark));
    List<Probe> out = new ArrayList<>();
    for (var e : reads.entrySet()) {
      for (int i = 0; i <= PROBES; i++) {
        long t0 = tasks.settled();
        long start = System.nanoTime();
        Object result = AccessScope.internal(e.getValue());
        double s = (System.nanoTime() - start) / 1e9;
        long t = tasks.settled() - t0;
        if (result instanceof OptionalLong o && o.isPresent()) {
          throw new IllegalStateException("committedBy found a run that never wrote: " + o);
        }
        if (i > 0) {
          out.add(new Probe(f, when, versions, e.getKey(), s, t));
        }
      }
    }
    progress(
        String.format(
            Locale.ROOT,
            "%s %s (%d versions): %s",
            f.label(),
            when,
            versions,
            out.stream()
                .map(
                    p ->
                        String.format(
                            Locale.ROOT, "%s %.3f s %d tasks", p.what(), p.seconds(), p.tasks()))
                .toList()));
    return out;
  }

  /** Every key written exactly once: the variants wrote what they were given. */
  private void check(TableFormat f) {
    String target = lh.sqlName(lh.spec(table(f)));
    long[] counts =
        AccessScope.internal(
            () -> {
              var r = spark.sql("SELECT count(*), count(DISTINCT id) FROM " + target).first();
              return new long[] {r.getLong(0), r.getLong(1)};
            });
    if (counts[0] != counts[1]) {
      throw new IllegalStateException(
          String.format(
              "%s has %d rows but %d keys: a write was duplicated.", target, counts[0], counts[1]));
    }
    progress(String.format(Locale.ROOT, "%s: %d rows, all keys distinct", target, counts[0]));
  }

  private static void expect(boolean ok, Variant v, TableName table, String what) {
    if (!ok) {
      throw new IllegalStateException(
          String.format("%s into %s did not commit as expected: %s", v.label, table, what));
    }
  }

  static String report(
      List<Sample> samples, List<Probe> probes, int repeats, int versions, double seconds) {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "- %d timed rounds after 1 warm-up round; tables started with %d one-row versions;"
                + " run took %.0f s; load average at end %s%n%n",
            repeats,
            versions,
            seconds,
            loadAverage()));
    out.append(
        "| format | mode | rows | (a) bare statement | (b0) Committer, tag only | (b) Committer, tag +"
            + " batch id | (c) IngestJob, batch id | (b0)/(a) | (b)/(a) | (c)/(a) | Spark tasks"
            + " (a) / (b0) / (b) / (c) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (TableFormat f : TableFormat.values()) {
      for (WriteMode m : List.of(WriteMode.APPEND, WriteMode.MERGE)) {
        for (int rows : SIZES) {
          int n = Variant.values().length;
          double[] med = new double[n];
          String[] cells = new String[n];
          String[] taskCells = new String[n];
          for (Variant v : Variant.values()) {
            List<Sample> vs =
                samples.stream()
                    .filter(
                        x ->
                            x.format() == f
                                && x.mode() == m
                                && x.rows() == rows
                                && x.variant() == v)
                    .toList();
            List<Double> s = vs.stream().map(Sample::seconds).toList();
            med[v.ordinal()] = BenchFiles.median(s);
            cells[v.ordinal()] =
                String.format(
                    Locale.ROOT,
                    "%.2f s [%.2f–%.2f]",
                    med[v.ordinal()],
                    s.stream().mapToDouble(d -> d).min().orElse(0),
                    s.stream().mapToDouble(d -> d).max().orElse(0));
            taskCells[v.ordinal()] =
                String.format(
                    Locale.ROOT,
                    "%.0f",
                    BenchFiles.median(vs.stream().map(x -> (double) x.tasks()).toList()));
          }
          out.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %s | %,d | %s | %s | %s | %s | %.2f× | %.2f× | %.2f× | %s |%n",
                  f.label(),
                  m,
                  rows,
                  cells[0],
                  cells[1],
                  cells[2],
                  cells[3],
                  med[1] / med[0],
                  med[2] / med[0],
                  med[3] / med[0],
                  String.join(" / ", taskCells)));
        }
      }
    }
    out.append(
        "\nHistory reads alone (median of "
            + PROBES
            + ", seconds), with the table's history before and after the timed rounds:\n\n"
            + "| format | when | versions | currentVersion s | tasks | containsBatch s | tasks |"
            + " committedBy s | tasks | Lakehouse.open s | tasks |\n"
            + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (TableFormat f : TableFormat.values()) {
      for (String when : List.of("before", "after")) {
        List<Probe> ps =
            probes.stream().filter(p -> p.format() == f && p.when().equals(when)).toList();
        if (ps.isEmpty()) {
          continue;
        }
        out.append(
            String.format(Locale.ROOT, "| %s | %s | %d |", f.label(), when, ps.get(0).versions()));
        for (String what :
            List.of("currentVersion", "containsBatch", "committedBy", "Lakehouse.open")) {
          out.append(
              String.format(
                  Locale.ROOT,
                  " %.3f |",
                  BenchFiles.median(
                      ps.stream()
                          .filter(p -> p.what().equals(what))
                          .map(Probe::seconds)
                          .toList())));
          out.append(
              String.format(
                  Locale.ROOT,
                  " %.0f |",
                  BenchFiles.median(
                      ps.stream()
                          .filter(p -> p.what().equals(what))
                          .map(p -> (double) p.tasks())
                          .toList())));
        }
        out.append('\n');
      }
    }
    return out.toString();
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "unknown";
    }
  }
}
