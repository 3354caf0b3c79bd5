package dev.lakeforge.lakehouse;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads raw files and writes them into a Lakeforge table.
 *
 * <p>Every row is checked against the table's types before anything is written: a value that does
 * not cast, a null in a NOT NULL column or a malformed JSON line makes the row bad. By default one
 * bad row fails the job and the table is unchanged; with a bad-rows path the bad rows (with the
 * reason) are written there and the rest proceeds. A column in the file that the table lacks is an
 * error (nothing is silently dropped).
 *
 * <p>With a batch id the write is idempotent: a batch already committed to the table is skipped, so
 * a re-run never duplicates rows (Delta records the batch as a transaction in the same commit;
 * Iceberg in the snapshot summary).
 *
 * @param table the target table (its spec must have been applied)
 * @param source path or URI of a file or folder ({@code s3a://} works when S3A is configured)
 * @param sourceFormat csv (with header), json (one object per line) or parquet
 * @param mode merge (upsert on the primary key), append or overwrite
 * @param batchId identifies the batch for idempotent re-runs
 * @param badRowsPath where to write rejected rows instead of failing
 */
public record IngestJob(
    TableName table,
    String source,
    SourceFormat sourceFormat,
    WriteMode mode,
    Optional<String> batchId,
    Optional<String> badRowsPath) {
  private static final Logger LOG = LoggerFactory.getLogger(IngestJob.class);
  static final String ERROR_COLUMN = "_lakeforge_error";
  private static final String CORRUPT = "_corrupt_record";

  public IngestJob {
    Objects.requireNonNull(table, "table is null");
    Objects.requireNonNull(sourceFormat, "sourceFormat is null");
    Objects.requireNonNull(mode, "mode is null");
    if (source == null || source.isBlank()) {
      throw new SpecException("Ingest needs a source path (--from PATH).");
    }
    batchId = batchId == null ? Optional.empty() : batchId;
    badRowsPath = badRowsPath == null ? Optional.empty() : badRowsPath;
    batchId.ifPresent(
        id -> {
          if (!id.matches("[A-Za-z0-9._:/-]{1,200}")) {
            throw new SpecException(
                String.format(
                    "batch id '%s' is invalid: use 1 to 200 letters, digits or . _ : / -, e.g. 2026-11-24.",
                    id));
          }
        });
  }

  /**
   * Starts an ingest of {@code source} into {@code table}; the defaults are merge mode, no batch
   * id, no bad-rows path.
   */
  public static Builder builder(TableName table, String source, SourceFormat format) {
    return new Builder(table, source, format);
  }

  /**
   * What the ingest did.
   *
   * @param table the table
   * @param mode the write mode
   * @param rowsRead rows in the source
   * @param rowsWritten rows merged, appended or written
   * @param rowsRejected bad rows (written to the bad-rows path)
   * @param versionBefore the table version before
   * @param versionAfter the table version after (equal to before when nothing was written)
   * @param skipped true when the batch id had already been committed
   * @param attempts commit attempts (more than 1 when concurrent writers conflicted)
   * @param duration wall time
   */
  public record Result(
      TableName table,
      WriteMode mode,
      long rowsRead,
      long rowsWritten,
      long rowsRejected,
      long versionBefore,
      long versionAfter,
      boolean skipped,
      int attempts,
      Duration duration) {}

  public Result run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    lh.spec(table); // an unknown table is named before access is checked
    lh.require(dev.lakeforge.catalog.Privilege.MODIFY, table);
    List<Guarded> guarded = guarded(lh);
    checkSource(lh, guarded);
    badRowsPath.ifPresent(b -> checkBadRows(spark, b, guarded));
    Map<String, String> params = new LinkedHashMap<>();
    params.put("table", table.toString());
    params.put("source", source);
    params.put("format", sourceFormat.toString());
    params.put("mode", mode.toString());
    batchId.ifPresent(b -> params.put("batch-id", b));
    badRowsPath.ifPresent(b -> params.put("bad-rows", b));
    return lh.recorded(
        "tables.ingest",
        params,
        List.of(table),
        run -> {
          Result r = ingest(spark, lh, run.id());
          run.input(Artifact.path(source));
          if (r.versionAfter() != r.versionBefore()) {
            run.output(Artifact.table(table.toString(), r.versionAfter()));
          }
          return r;
        },
        r ->
            Map.of(
                "rows_read",
                r.rowsRead(),
                "rows_written",
                r.rowsWritten(),
                "rows_rejected",
                r.rowsRejected(),
                "skipped",
                r.skipped(),
                "attempts",
                r.attempts(),
                "seconds",
                r.duration().toMillis() / 1000.0));
  }

  private Result ingest(SparkSession caller, Lakehouse lh, String runId) {
    long start = System.nanoTime();
    TableSpec spec = lh.spec(table);
    TableOperations ops = lh.operations(spec.format());
    if (mode == WriteMode.MERGE && spec.primaryKey().isEmpty()) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot merge into %s: its spec has no primary-key. Add `primary-key: [...]` to the spec and re-apply"
                  + " it, or ingest with --mode append.",
              table));
    }
    if (batchId.isPresent() && ops.containsBatch(table, batchId.get())) {
      long v = ops.currentVersion(table);
      LOG.info("Batch {} is already in {}: nothing to write", batchId.get(), table);
      return new Result(table, mode, 0, 0, 0, v, v, true, 0, elapsed(start));
    }
    SparkSession spark = WriteSession.of(caller);
    spark.sparkContext().setJobDescription("lakeforge: ingest " + table + " from " + source);
    Dataset<Row> raw = read(spark);
    Dataset<Row> annotated = annotate(raw, spec).persist(StorageLevel.MEMORY_AND_DISK());
    String view = "lakeforge_ingest_" + UUID.randomUUID().toString().replace("-", "");
    try {
      Map<Boolean, Long> counts = new LinkedHashMap<>();
      for (Row r : annotated.groupBy(col(ERROR_COLUMN).isNull()).count().collectAsList()) {
        counts.put(r.getBoolean(0), r.getLong(1));
      }
      long good = counts.getOrDefault(true, 0L);
      long bad = counts.getOrDefault(false, 0L);
      Dataset<Row> badRows = annotated.where(col(ERROR_COLUMN).isNotNull());
      if (bad > 0 && badRowsPath.isEmpty()) {
        throw new LakehouseException(
            table,
            String.format(
                "Cannot ingest %s into %s: %d of %d rows do not fit the table, e.g. %s. Nothing was written."
                    + " Fix the file, or pass --bad-rows PATH to write the rejected rows there and load the rest.",
                source, table, bad, good + bad, example(badRows.first())));
      }
      Dataset<Row> rows = annotated.where(col(ERROR_COLUMN).isNull()).select(casts(raw, spec));
      if (mode == WriteMode.MERGE) {
        checkUniqueKeys(rows, spec);
      }
      rows.createOrReplaceTempView(view);
      String sql = writeStatement(lh.sqlName(spec), view, spec, Set.of(raw.columns()));
      long t0 = System.nanoTime();
      Committer.Outcome o =
          Committer.commit(
              ops, spark, table, new CommitTag(runId, batchId), () -> spark.sql(sql).collect());
      if (bad > 0 && !o.skipped()) {
        writeBadRows(spark, badRows, bad, o);
      }
      LOG.info(
          "{} {}: {} rows in {} ({}), version {} -> {}{}",
          mode,
          table,
          o.skipped() ? 0 : good,
          Progress.seconds(System.nanoTime() - t0),
          Progress.rate(o.skipped() ? 0 : good, System.nanoTime() - t0),
          o.versionBefore(),
          o.versionAfter(),
          o.attempts() > 1 ? " after " + o.attempts() + " attempts (concurrent writers)" : "");
      return new Result(
          table,
          mode,
          good + bad,
          o.skipped() ? 0 : good,
          bad,
          o.versionBefore(),
          o.versionAfter(),
          o.skipped(),
          o.attempts(),
          elapsed(start));
    } finally {
      spark.catalog().dropTempView(view);
      annotated.unpersist();
      spark.sparkContext().setJobDescription(null);
    }
  }

  /**
   * Writes the rejected rows after the table commit succeeded: never before (a failed commit would
   * leave bad rows of a batch that is not in the table), never over existing files (the path was
   * checked to be new or an empty folder). A failure here does not undo the commit; it is said.
   */
  private void writeBadRows(
      SparkSession spark, Dataset<Row> badRows, long bad, Committer.Outcome committed) {
    String path = badRowsPath.orElseThrow();
    try {
      badRows.write().mode(exists(spark, path) ? "append" : "errorifexists").json(path);
      LOG.warn("{} rows rejected; written with the reason to {}", bad, path);
    } catch (RuntimeException e) {
      LOG.error(
          "The good rows were committed to {} (version {}), but the {} rejected rows could not be"
              + " written to --bad-rows {}: {}. Re-read them from the source with the reasons"
              + " above, or re-run with a new --bad-rows path and the same --batch-id.",
          table,
          committed.versionAfter(),
          bad,
          path,
          firstLine(e.getMessage()));
    }
  }

  private Dataset<Row> read(SparkSession spark) {
    checkLocalSource();
    try {
      var reader = spark.read();
      return switch (sourceFormat) {
        case CSV -> reader.option("header", "true").option("mode", "PERMISSIVE").csv(source);
        case JSON ->
            reader
                .option("mode", "PERMISSIVE")
                .option("columnNameOfCorruptRecord", CORRUPT)
                .json(source);
        case PARQUET -> reader.parquet(source);
      };
    } catch (Exception e) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot read %s as %s for ingest into %s: %s. Check the path and --format.",
              source, sourceFormat, table, firstLine(e.getMessage())),
          e);
    }
  }

  /** A place whose files an ingest may not read raw without ADMIN, nor write bad rows into. */
  private record Guarded(String description, Locations.Location location) {
    @Override
    public String toString() {
      return description + " (" + location + ")";
    }
  }

  /** Every registered table's folder and the platform's folders and files. */
  private static List<Guarded> guarded(Lakehouse lh) {
    List<Guarded> out = new ArrayList<>(); // tables first: the most precise to name
    for (var t : lh.registry().list()) {
      try {
        out.add(new Guarded("the folder of table " + t.name(), Locations.of(t.location())));
      } catch (IllegalArgumentException e) {
        LOG.warn(
            "Table {} is registered at {}, which is not a location: {}",
            t.name(),
            t.location(),
            e.getMessage());
      }
    }
    for (Locations.Area a : Locations.platformAreas(lh.platform())) {
      out.add(new Guarded(a.description(), a.location()));
    }
    return out;
  }

  private Locations.Location sourceLocation() {
    try {
      return Locations.globPrefix(source);
    } catch (IllegalArgumentException e) {
      throw new SpecException(
          String.format(
              "Cannot ingest into %s: --from %s is not a path: %s. Give a file, folder or glob, local"
                  + " or s3a://bucket/path.",
              table, source, e.getMessage()));
    }
  }

  /**
   * Raw reads of the platform's files or a table's files bypass the table's grants, its deletes and
   * time travel: only ADMIN may do them.
   */
  private void checkSource(Lakehouse lh, List<Guarded> guarded) {
    Locations.Location from = sourceLocation();
    List<Guarded> hit = guarded.stream().filter(g -> g.location().overlaps(from)).toList();
    if (hit.isEmpty()) {
      return;
    }
    try {
      lh.require(dev.lakeforge.catalog.Privilege.ADMIN, "*");
    } catch (dev.lakeforge.catalog.AccessDeniedException e) {
      var denied =
          new dev.lakeforge.catalog.AccessDeniedException(
              String.format(
                  "Cannot ingest into %s from %s: --from reaches into %s, whose files only ADMIN may"
                      + " read raw (a table is read with SQL, under its grants). Ingest from a folder"
                      + " of raw files outside them. %s",
                  table, source, hit.get(0), e.getMessage()));
      denied.initCause(e);
      throw denied;
    }
  }

  private void checkBadRows(SparkSession spark, String path, List<Guarded> guarded) {
    String fix =
        "Give --bad-rows a new folder (or an empty one) outside the warehouse, the model store, the"
            + " catalog's files, every table's folder and the source.";
    if (Locations.isGlob(path)) {
      throw refuseBadRows(path, "is a glob", fix);
    }
    Locations.Location loc;
    try {
      loc = Locations.of(path);
    } catch (IllegalArgumentException e) {
      throw refuseBadRows(path, "is not a path: " + e.getMessage(), fix);
    }
    for (Guarded g : guarded) {
      if (g.location().overlaps(loc)) {
        throw refuseBadRows(path, relation(loc, g.location()) + " " + g, fix);
      }
    }
    Locations.Location from = sourceLocation();
    if (from.overlaps(loc)) {
      throw refuseBadRows(path, relation(loc, from) + " the source --from " + source, fix);
    }
    try {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
      var fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (fs.exists(p) && (!fs.getFileStatus(p).isDirectory() || fs.listStatus(p).length > 0)) {
        throw refuseBadRows(
            path,
            "already exists and is not an empty folder (its files would be mixed with or replaced by the rejected rows)",
            fix);
      }
    } catch (java.io.IOException e) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot ingest into %s: cannot check --bad-rows %s (%s). Check the path and its"
                  + " permissions.",
              table, path, e.getMessage()),
          e);
    }
  }

  private LakehouseException refuseBadRows(String path, String why, String fix) {
    return new LakehouseException(
        table,
        String.format(
            "Cannot ingest into %s: --bad-rows %s %s. Nothing was read or written. %s",
            table, path, why, fix));
  }

  private static String relation(Locations.Location loc, Locations.Location other) {
    if (loc.equals(other)) {
      return "is";
    }
    return loc.contains(other) ? "contains" : "lies inside";
  }

  private boolean exists(SparkSession spark, String path) {
    try {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
      return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
    } catch (java.io.IOException e) {
      throw new LakehouseException(
          table(), String.format("Cannot check --bad-rows %s: %s", path, e.getMessage()), e);
    }
  }

  private void checkLocalSource() {
    Optional<Path> local = sourceLocation().localPath();
    if (local.isPresent()) {
      Path p = local.get();
      if (!Files.exists(p)) {
        throw new LakehouseException(
            table,
            String.format(
                "Cannot ingest into %s: source %s does not exist. Check --from.", table, source));
      }
      if (!Files.isReadable(p)) {
        throw new LakehouseException(
            table,
            String.format(
                "Cannot ingest into %s: source %s is not readable. Check its permissions.",
                table, source));
      }
    }
  }

  /** The raw rows plus the error column: null for a good row, the reasons for a bad one. */
  private Dataset<Row> annotate(Dataset<Row> raw, TableSpec spec) {
    Set<String> specColumns = new TreeSet<>();
    spec.columns().forEach(c -> specColumns.add(c.name()));
    List<String> extra = new ArrayList<>();
    Set<String> present = new TreeSet<>();
    for (String c : raw.columns()) {
      if (c.equals(CORRUPT)) {
        continue;
      }
      present.add(c);
      if (!specColumns.contains(c)) {
        extra.add(c);
      }
    }
    if (!extra.isEmpty()) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot ingest %s into %s: the file has columns the table does not have: %s. Add them to the table"
                  + " spec (nullable) and re-apply it, or remove them from the file. Table columns: %s.",
              source, table, extra, specColumns));
    }
    List<String> missing = new ArrayList<>();
    for (ColumnSpec c : spec.columns()) {
      if (!c.nullable() && !present.contains(c.name())) {
        missing.add(c.name());
      }
    }
    if (!missing.isEmpty()) {
      throw new LakehouseException(
          table,
          String.format(
              "Cannot ingest %s into %s: the file lacks the NOT NULL columns %s. Add them to the file.",
              source, table, missing));
    }
    Map<String, org.apache.spark.sql.types.DataType> types = new java.util.HashMap<>();
    for (StructField f : raw.schema().fields()) {
      types.put(f.name(), f.dataType());
    }
    List<Column> reasons = new ArrayList<>();
    if (List.of(raw.columns()).contains(CORRUPT)) {
      reasons.add(when(col(CORRUPT).isNotNull(), lit("malformed " + sourceFormat + " record")));
    }
    for (ColumnSpec c : spec.columns()) {
      if (!present.contains(c.name())) {
        continue;
      }
      Column src = col(c.name());
      reasons.addAll(ValueFit.problems(c.name(), src, types.get(c.name()), c.dataType()));
      if (!c.nullable()) {
        reasons.add(
            when(src.isNull(), lit("column `" + c.name() + "` is null but NOT NULL in the table")));
      }
    }
    Column joined = concat_ws("; ", reasons.toArray(Column[]::new));
    return raw.withColumn(ERROR_COLUMN, when(length(joined).gt(0), joined));
  }

  private static Column[] casts(Dataset<Row> raw, TableSpec spec) {
    Set<String> present = Set.of(raw.columns());
    return spec.columns().stream()
        .map(
            c ->
                (present.contains(c.name())
                        ? col(c.name()).try_cast(c.dataType())
                        : lit(null).cast(c.dataType()))
                    .as(c.name()))
        .toArray(Column[]::new);
  }

  private void checkUniqueKeys(Dataset<Row> rows, TableSpec spec) {
    Column[] key =
        spec.primaryKey().stream().map(org.apache.spark.sql.functions::col).toArray(Column[]::new);
    Dataset<Row> dups = rows.groupBy(key).count().where(col("count").gt(1));
    List<Row> sample = dups.limit(1).collectAsList();
    if (!sample.isEmpty()) {
      long n = dups.count();
      Row r = sample.get(0);
      StringJoiner k = new StringJoiner(", ");
      for (int i = 0; i < key.length; i++) {
        k.add(spec.primaryKey().get(i) + "=" + r.get(i));
      }
      throw new LakehouseException(
          table,
          String.format(
              "Cannot merge %s into %s: %d keys appear more than once in the batch (e.g. %s appears %d times)."
                  + " Merge needs one row per primary key. Deduplicate the file, or ingest with --mode append."
                  + " Nothing was written.",
              source, table, n, k, r.getLong(key.length)));
    }
  }

  /**
   * The write of {@code view} (every table column, by name) into {@code target}. A merge updates
   * only the columns the source file has ({@code present}): a partial record never sets the others
   * to NULL; a new key gets NULL in them.
   */
  private String writeStatement(String target, String view, TableSpec spec, Set<String> present) {
    StringJoiner cols = new StringJoiner(", ");
    spec.columns().forEach(c -> cols.add(Sql.ident(c.name())));
    return switch (mode) {
      case APPEND -> String.format("INSERT INTO %s SELECT %s FROM %s", target, cols, view);
      case OVERWRITE -> String.format("INSERT OVERWRITE %s SELECT %s FROM %s", target, cols, view);
      case MERGE -> {
        StringJoiner on = new StringJoiner(" AND ");
        spec.primaryKey().forEach(k -> on.add("t." + Sql.ident(k) + " = s." + Sql.ident(k)));
        StringJoiner set = new StringJoiner(", ");
        for (ColumnSpec c : spec.columns()) {
          if (present.contains(c.name()) && !spec.primaryKey().contains(c.name())) {
            set.add("t." + Sql.ident(c.name()) + " = s." + Sql.ident(c.name()));
          }
        }
        yield String.format(
            "MERGE INTO %s t USING %s s ON %s%s WHEN NOT MATCHED THEN INSERT *",
            target, view, on, set.length() == 0 ? "" : " WHEN MATCHED THEN UPDATE SET " + set);
      }
    };
  }

  private static String example(Row bad) {
    StringJoiner values = new StringJoiner(", ", "{", "}");
    String reason = "";
    for (int i = 0; i < bad.length(); i++) {
      String name = bad.schema().fields()[i].name();
      if (name.equals(ERROR_COLUMN)) {
        reason = bad.getString(i);
      } else if (!name.equals(CORRUPT) || !bad.isNullAt(i)) {
        values.add(name + "=" + bad.get(i));
      }
    }
    return values + " (" + reason + ")";
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static Duration elapsed(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  /** Builds an {@link IngestJob}: {@code opt*} methods set the optional parts. */
  public static final class Builder {
    private final TableName table;
    private final String source;
    private final SourceFormat format;
    private WriteMode mode = WriteMode.MERGE;
    private Optional<String> batchId = Optional.empty();
    private Optional<String> badRows = Optional.empty();

    private Builder(TableName table, String source, SourceFormat format) {
      this.table = table;
      this.source = source;
      this.format = format;
    }

    public Builder optMode(WriteMode mode) {
      this.mode = mode;
      return this;
    }

    public Builder optBatchId(String batchId) {
      this.batchId = Optional.ofNullable(batchId);
      return this;
    }

    public Builder optBadRowsPath(String path) {
      this.badRows = Optional.ofNullable(path);
      return this;
    }

    public IngestJob build() {
      return new IngestJob(table, source, format, mode, batchId, badRows);
    }
  }
}
