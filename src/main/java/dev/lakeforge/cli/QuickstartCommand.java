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
      "apply the table specs (conf/tables) and ingest it into Delta and Iceberg tables; then materialize the",
      "customer features (conf/features), build the churn training set (conf/training), train and register",
      "the churn model and score every customer (conf/jobs/score_customers.yaml). Re-running is idempotent."
    })
final class QuickstartCommand extends Subcommand {

  @Option(names = "--rows", paramLabel = "N", description = "Number of orders (default 100000).")
  long rows = ShopData.ORDERS_DEFAULT;

  @Option(
      names = "--shop-only",
      description = "Build the shop's tables only: no features, training set, model or scores.")
  boolean shopOnly;

  @Override
  void run() {
    ShopData data = new ShopData(rows); // validated before the session starts
    LakeforgeCli root = root();
    var job =
        new QuickstartJob(
            data,
            QuickstartJob.specsIfPresent(root.tableSpecs()),
            QuickstartJob.specsIfPresent(root.confFolder()));
    var r = (shopOnly ? job.shopOnly() : job).run(root.spark());
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
    r.churn().ifPresent(c -> printChurn(out, c));
    out.printf("Done in %.1f s. Try:%n", r.duration().toMillis() / 1000.0);
    out.println(
        "  bin/lakeforge sql \"select country, count(*) as customers from shop.customers group by country order by customers desc\"");
    out.println(
        "  bin/lakeforge sql \"select p.category, sum(o.amount) as revenue from shop.orders o"
            + " join iceberg.shop.products p using (product_id) group by p.category order by revenue desc\"");
    out.println("  bin/lakeforge tables history shop.orders");
    r.churn()
        .ifPresent(
            c -> {
              out.printf(
                  "  bin/lakeforge sql \"select * from %s order by probability desc limit 10\"%n",
                  c.predictions());
              out.printf("  bin/lakeforge catalog lineage %s%n", c.model().ref());
            });
  }

  private static void printChurn(PrintWriter out, QuickstartJob.Churn c) {
    out.printf("%nChurn example:%n");
    out.printf(
        "  features: %s, %d rows (daily)%s%n",
        c.featureTable(), c.featureRows(), c.featuresUpToDate() ? ", already up to date" : "");
    out.printf(
        "  training: %s, %d labelled rows (%.0f%% ordered again within 14 days)%s%n",
        c.trainingSet(),
        c.trainingRows(),
        100 * c.positiveShare(),
        c.trainingSetBuilt() ? "" : ", unchanged");
    out.printf(
        "  model:    %s (logistic regression on %s; sha256 %s)%s%n",
        c.model().ref(),
        String.join(", ", c.features()),
        c.model().sha256().substring(0, 12),
        c.modelRegistered() ? ", registered as " + c.alias() : ", already " + c.alias());
    out.printf(
        "  scored:   %d customers in %s (%d new)%n",
        c.customersScored(), c.predictions(), c.rowsScored());
    TextTable t = new TextTable(List.of("customer", "churn probability", "label"));
    c.highestRisk()
        .forEach(p -> t.add(p.customerId(), String.format("%.3f", p.probability()), p.label()));
    out.printf("Highest churn risk:%n");
    out.print(t.render());
    out.printf("Lineage of %s (upstream):%n", c.predictions());
    c.lineage().forEach(e -> out.printf("  %s%n", e));
    out.println();
  }
}
