package dev.lakeforge.cli;

import dev.lakeforge.quickstart.QuickstartJob;
import dev.lakeforge.quickstart.ShopData;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakeforge quickstart}: builds the synthetic shop on the embedded default. */
@Command(
    name = "quickstart",
    mixinStandardHelpOptions = true,
    description = {
      "Generate a synthetic shop (customers, products, orders) as raw CSV/JSON under <home>/raw,",
      "apply the table specs (conf/tables) and ingest it into Delta and Iceberg tables. Re-running is idempotent."
    })
final class QuickstartCommand extends Subcommand {

  @Option(names = "--rows", paramLabel = "N", description = "Number of orders (default 100000).")
  long rows = ShopData.ORDERS_DEFAULT;

  @Override
  void run() {
    ShopData data = new ShopData(rows); // validated before the session starts
    LakeforgeCli root = root();
    var job = new QuickstartJob(data, QuickstartJob.specsIfPresent(root.tableSpecs()));
    var r = job.run(root.spark());
    PrintWriter out = out();
    out.printf("Raw files: %s%n", r.raw());
    TextTable t = new TextTable(List.of("table", "format", "query it as", "rows", "version"));
    r.tables()
        .forEach(b -> t.add(b.table(), b.format().label(), b.sqlName(), b.rows(), b.version()));
    out.print(t.render());
    if (r.batchesSkipped() > 0) {
      out.printf(
          "%d of 3 ingests were already committed (same batch ids): nothing was duplicated.%n",
          r.batchesSkipped());
    }
    out.printf("Done in %.1f s. Try:%n", r.duration().toMillis() / 1000.0);
    out.println(
        "  bin/lakeforge sql \"select country, count(*) as customers from shop.customers group by country order by customers desc\"");
    out.println(
        "  bin/lakeforge sql \"select p.category, sum(o.amount) as revenue from shop.orders o"
            + " join iceberg.shop.products p using (product_id) group by p.category order by revenue desc\"");
    out.println("  bin/lakeforge tables history shop.orders");
  }
}
