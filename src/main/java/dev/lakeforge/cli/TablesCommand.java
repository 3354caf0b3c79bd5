package dev.lakeforge.cli;

import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.DeleteJob;
import dev.lakeforge.lakehouse.HistoryEntry;
import dev.lakeforge.lakehouse.IngestJob;
import dev.lakeforge.lakehouse.MaintainJob;
import dev.lakeforge.lakehouse.Progress;
import dev.lakeforge.lakehouse.SourceFormat;
import dev.lakeforge.lakehouse.TableInfo;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.lakehouse.TableSpecs;
import dev.lakeforge.lakehouse.WriteMode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.types.StructField;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakeforge tables ...}: lakehouse tables declared by specs. */
@Command(
    name = "tables",
    mixinStandardHelpOptions = true,
    description = "Create, evolve, ingest into, inspect and maintain lakehouse tables.",
    subcommands = {
      TablesCommand.Apply.class,
      TablesCommand.Ingest.class,
      TablesCommand.Delete.class,
      TablesCommand.History.class,
      TablesCommand.Describe.class,
      TablesCommand.Maintain.class
    })
final class TablesCommand {

  /** Base of the table subcommands. */
  abstract static class Sub extends Subcommand {}

  @Command(
      name = "apply",
      mixinStandardHelpOptions = true,
      description = {
        "Create or evolve the tables declared in YAML specs.",
        "Unchanged specs change nothing; breaking changes are refused and no table is changed."
      })
  static final class Apply extends Sub {
    @Parameters(
        arity = "0..1",
        paramLabel = "SPEC",
        description =
            "A spec file or a folder of *.yaml specs (default: the config's table-specs, conf/tables).")
    Path path;

    @Override
    void run() {
      Path p = path != null ? path : root().tableSpecs();
      var specs = TableSpecs.load(p); // all specs are validated before the session starts
      var result = new ApplyTablesJob(specs, sources(p, specs)).run(root().spark());
      TextTable t = new TextTable(List.of("table", "format", "action", "version"));
      for (var o : result.tables()) {
        t.add(
            o.table(), o.format().label(), o.action().name().toLowerCase(Locale.ROOT), o.version());
      }
      out().print(t.render());
      for (var o : result.tables()) {
        o.changes().forEach(c -> out().printf("  %s: %s%n", o.table(), c));
      }
    }

    /** The file each spec was read from, so errors can name it. */
    private static Map<TableName, String> sources(Path p, List<TableSpec> specs) {
      Map<TableName, String> sources = new HashMap<>();
      if (!Files.isDirectory(p)) {
        specs.forEach(s -> sources.put(s.name(), p.toString()));
        return sources;
      }
      try (Stream<Path> files = Files.list(p)) {
        for (Path f :
            files
                .filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                .toList()) {
          TableSpecs.load(f).forEach(s -> sources.put(s.name(), f.toString()));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e); // the folder was listed a moment ago by load()
      }
      return sources;
    }
  }

  @Command(
      name = "ingest",
      mixinStandardHelpOptions = true,
      description = {
        "Read raw files and write them into a table.",
        "Rows that do not fit the table's types fail the ingest (nothing is written) unless --bad-rows is given."
      })
  static final class Ingest extends Sub {
    @Parameters(
        index = "0",
        paramLabel = "TABLE",
        description = "namespace.table, as declared in its spec.")
    String table;

    @Option(
        names = "--from",
        required = true,
        paramLabel = "PATH",
        description = "File or folder (local or s3a://).")
    String from;

    @Option(
        names = "--format",
        required = true,
        paramLabel = "csv|json|parquet",
        description = "Format of the raw files.")
    String format;

    @Option(
        names = "--mode",
        paramLabel = "merge|append|overwrite",
        description =
            "merge (default) upserts on the primary key; append adds rows; overwrite replaces them.")
    String mode;

    @Option(
        names = "--batch-id",
        paramLabel = "ID",
        description = "Makes the write idempotent: re-running the same batch id writes nothing.")
    String batchId;

    @Option(
        names = "--bad-rows",
        paramLabel = "PATH",
        description = "Write rejected rows here (JSON, with the reason) and ingest the rest.")
    String badRows;

    @Override
    void run() {
      TableName name = TableName.parse(table);
      IngestJob.Builder b = IngestJob.builder(name, from, SourceFormat.parse(format));
      if (mode != null) {
        b.optMode(WriteMode.parse(mode));
      }
      if (batchId != null) {
        b.optBatchId(batchId);
      }
      if (badRows != null) {
        b.optBadRowsPath(badRows);
      }
      IngestJob job = b.build();
      var r = job.run(root().spark());
      if (r.skipped()) {
        out()
            .printf(
                "%s: batch %s was already committed; nothing written (version %d).%n",
                r.table(), batchId, r.versionAfter());
        return;
      }
      out()
          .printf(
              "%s: %s of %d rows read, %d written, %d rejected%s; version %d -> %d in %s (%s)%s%n",
              r.table(),
              r.mode(),
              r.rowsRead(),
              r.rowsWritten(),
              r.rowsRejected(),
              r.rowsRejected() > 0 ? " (written to " + badRows + ")" : "",
              r.versionBefore(),
              r.versionAfter(),
              Progress.seconds(r.duration().toNanos()),
              Progress.rate(r.rowsWritten(), r.duration().toNanos()),
              r.attempts() > 1 ? "; " + r.attempts() + " attempts (concurrent writers)" : "");
    }
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description = "Delete the rows matching a predicate.")
  static final class Delete extends Sub {
    @Parameters(index = "0", paramLabel = "TABLE")
    String table;

    @Option(
        names = "--where",
        required = true,
        paramLabel = "PREDICATE",
        description = "Spark SQL predicate.")
    String where;

    @Override
    void run() {
      var r = new DeleteJob(TableName.parse(table), where).run(root().spark());
      out()
          .printf(
              "%s: %d rows deleted; version %d -> %d%n",
              r.table(), r.rowsDeleted(), r.versionBefore(), r.versionAfter());
    }
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description = {
        "The table's versions, newest first.",
        "Query one with: select ... from TABLE VERSION AS OF <version> (or TIMESTAMP AS OF '<timestamp>')."
      })
  static final class History extends Sub {
    @Parameters(index = "0", paramLabel = "TABLE")
    String table;

    @Override
    void run() {
      List<HistoryEntry> h = TableInfo.history(root().spark(), TableName.parse(table));
      TextTable t =
          new TextTable(List.of("version", "timestamp", "operation", "batch id", "details"));
      h.forEach(
          e ->
              t.add(
                  e.version(), e.timestamp(), e.operation(), e.batchId().orElse(""), e.details()));
      out().print(t.render());
    }
  }

  @Command(
      name = "describe",
      mixinStandardHelpOptions = true,
      description = "Schema, key, location, version, size.")
  static final class Describe extends Sub {
    @Parameters(index = "0", paramLabel = "TABLE")
    String table;

    @Override
    void run() {
      TableInfo i = TableInfo.describe(root().spark(), TableName.parse(table));
      PrintWriter o = out();
      o.printf("table:        %s%n", i.name());
      o.printf("format:       %s%n", i.format().label());
      o.printf("sql name:     %s%n", i.sqlName());
      o.printf("location:     %s%n", i.location());
      o.printf(
          "primary key:  %s%n",
          i.primaryKey().isEmpty() ? "(none)" : String.join(", ", i.primaryKey()));
      o.printf(
          "partitioned:  %s%n",
          i.partitionBy().isEmpty() ? "(no)" : String.join(", ", i.partitionBy()));
      o.printf(
          "retention:    %d days, last %d versions%n",
          i.retention().days(), i.retention().versions());
      o.printf("version:      %d%n", i.version());
      o.printf("live files:   %d (%d bytes)%n", i.files(), i.bytes());
      TextTable cols = new TextTable(List.of("column", "type", "nullable", "comment"));
      for (StructField f : i.schema().fields()) {
        cols.add(
            f.name(),
            f.dataType().sql().toLowerCase(Locale.ROOT),
            f.nullable(),
            f.getComment().getOrElse(() -> ""));
      }
      o.print(cols.render());
    }
  }

  @Command(
      name = "maintain",
      mixinStandardHelpOptions = true,
      description = {
        "Compact small files, then remove what the spec's retention no longer needs.",
        "Delta: OPTIMIZE + VACUUM. Iceberg: rewrite_data_files + expire_snapshots + remove_orphan_files."
      })
  static final class Maintain extends Sub {
    @Parameters(
        arity = "0..*",
        paramLabel = "TABLE",
        description = "Tables to maintain (default: every registered table).")
    List<String> tables = new ArrayList<>();

    @Option(
        names = "--dry-run",
        description = "Print what would be compacted and removed; change nothing.")
    boolean dryRun;

    @Override
    void run() {
      List<TableName> names = tables.stream().map(TableName::parse).toList();
      var reports = new MaintainJob(names, dryRun).run(root().spark());
      TextTable t =
          new TextTable(
              List.of(
                  "table",
                  "format",
                  "files before",
                  "files after",
                  "bytes before",
                  "bytes after",
                  "bytes freed"));
      for (var r : reports) {
        t.add(
            r.table(),
            r.format().label(),
            r.filesBefore(),
            r.filesAfter(),
            r.bytesOnDiskBefore(),
            r.bytesOnDiskAfter(),
            r.bytesFreed());
      }
      out().print(t.render());
      for (var r : reports) {
        r.actions().forEach(a -> out().printf("  %s: %s%n", r.table(), a));
      }
      if (dryRun) {
        out().println("Dry run: nothing was changed.");
      }
    }
  }
}
