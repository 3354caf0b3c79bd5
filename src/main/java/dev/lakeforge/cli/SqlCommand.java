package dev.lakeforge.cli;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.lakehouse.AsOfQuery;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakeforge sql "QUERY"}: runs Spark SQL against the lakehouse and prints the result. */
@Command(
    name = "sql",
    mixinStandardHelpOptions = true,
    description = {
      "Run Spark SQL against the lakehouse and print the result.",
      "Delta tables are namespace.table, Iceberg tables iceberg.namespace.table.",
      "Time travel: select ... from shop.orders VERSION AS OF 3 (or TIMESTAMP AS OF '2026-01-01 00:00:00'),",
      "or --as-of '2026-01-01 00:00:00' (UTC) to read every table of the query as of one moment."
    })
final class SqlCommand extends Subcommand {
  /** Output formats. */
  enum Format {
    TABLE,
    CSV,
    JSON
  }

  @Parameters(index = "0", paramLabel = "QUERY", description = "One Spark SQL statement.")
  String query;

  @Option(
      names = "--format",
      paramLabel = "table|csv|json",
      description = "table (default), csv (with a header) or json (one object per line).")
  String format = "table";

  @Option(
      names = "--as-of",
      paramLabel = "TIMESTAMP",
      description = {
        "Read every lakehouse table in the query as of this instant: yyyy-MM-dd[ HH:mm:ss[.SSS]] in UTC, whatever",
        "spark.sql.session.timeZone says, or with an offset (2026-01-01T09:00:00+09:00, ...Z). Each table is read",
        "at its last commit at or before it (its latest version if the instant is later); an instant before a",
        "table's earliest version is an error. Tables the query already time travels are left as written."
      })
  String asOf;

  @Option(
      names = "--limit",
      paramLabel = "N",
      description = "Print at most N rows (default 1000; 0 prints all).")
  int limit = 1000;

  @Override
  void run() {
    Format f = parseFormat(format);
    if (limit < 0) {
      throw new SpecException(
          "--limit " + limit + " is negative: give 0 (all rows) or a positive number.");
    }
    AsOfQuery pinned =
        asOf == null ? null : AsOfQuery.parse(query, asOf); // validated before the session starts
    SparkSession spark = root().spark();
    Dataset<Row> df =
        pinned == null
            ? dev.lakeforge.lakehouse.Lakehouse.open(spark).sql(query)
            : pinned.run(spark);
    PrintWriter out = out();
    Dataset<Row> shown = limit > 0 ? df.limit(limit + 1) : df;
    switch (f) {
      case JSON -> print(out, shown.toJSON().toLocalIterator(), limit);
      case CSV -> printCsv(out, shown);
      case TABLE -> printTable(out, shown);
    }
  }

  private static Format parseFormat(String text) {
    for (Format f : Format.values()) {
      if (f.name().equalsIgnoreCase(text)) {
        return f;
      }
    }
    throw new SpecException("--format " + text + " is not supported: use table, csv or json.");
  }

  private void print(PrintWriter out, Iterator<String> lines, int max) {
    int n = 0;
    while (lines.hasNext()) {
      String line = lines.next();
      if (max > 0 && n == max) {
        truncated(spec.commandLine().getErr());
        return;
      }
      out.println(line);
      n++;
    }
  }

  private void printCsv(PrintWriter out, Dataset<Row> df) {
    List<String> header = new ArrayList<>();
    for (StructField f : df.schema().fields()) {
      header.add(csvCell(f.name()));
    }
    out.println(String.join(",", header));
    Iterator<Row> rows = df.toLocalIterator();
    print(
        out,
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            return rows.hasNext();
          }

          @Override
          public String next() {
            Row r = rows.next();
            List<String> cells = new ArrayList<>();
            for (int i = 0; i < r.length(); i++) {
              cells.add(r.isNullAt(i) ? "" : csvCell(String.valueOf(r.get(i))));
            }
            return String.join(",", cells);
          }
        },
        limit);
  }

  private void printTable(PrintWriter out, Dataset<Row> df) {
    List<String> header = new ArrayList<>();
    for (StructField f : df.schema().fields()) {
      header.add(f.name());
    }
    TextTable t = new TextTable(header);
    Iterator<Row> rows = df.toLocalIterator();
    boolean more = false;
    while (rows.hasNext()) {
      Row r = rows.next();
      if (limit > 0 && t.size() == limit) {
        more = true;
        break;
      }
      Object[] cells = new Object[r.length()];
      for (int i = 0; i < r.length(); i++) {
        cells[i] = r.get(i);
      }
      t.add(cells);
    }
    if (header.isEmpty()) {
      out.println("OK");
      return;
    }
    out.print(t.render());
    if (more) {
      truncated(out);
    } else {
      out.printf("(%d row%s)%n", t.size(), t.size() == 1 ? "" : "s");
    }
  }

  private void truncated(PrintWriter out) {
    out.printf(Locale.ROOT, "(first %d rows shown; use --limit 0 for all)%n", limit);
  }

  private static String csvCell(String v) {
    if (v.contains(",") || v.contains("\"") || v.contains("\n")) {
      return "\"" + v.replace("\"", "\"\"") + "\"";
    }
    return v;
  }
}
