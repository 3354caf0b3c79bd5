package dev.lakeforge.quickstart;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.IngestJob;
import dev.lakeforge.lakehouse.SourceFormat;
import dev.lakeforge.lakehouse.TableFormat;
import dev.lakeforge.lakehouse.TableInfo;
import dev.lakeforge.lakehouse.TableSpec;
import dev.lakeforge.lakehouse.TableSpecs;
import dev.lakeforge.lakehouse.WriteMode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quickstart: writes the synthetic shop ({@link ShopData}) as raw files under the home's {@code
 * raw/}, applies the table specs, and ingests the raw files into Delta and Iceberg tables with
 * batch ids, so a re-run writes nothing new.
 *
 * @param data what to generate
 * @param specs the folder of table specs to apply; empty uses the shop specs bundled in the jar
 */
public record QuickstartJob(ShopData data, Optional<Path> specs) {
  static final TableName CUSTOMERS = TableName.parse("shop.customers");
  static final TableName PRODUCTS = TableName.parse("shop.products");
  static final TableName ORDERS = TableName.parse("shop.orders");
  private static final List<String> BUNDLED =
      List.of("shop_customers.yaml", "shop_products.yaml", "shop_orders.yaml");
  private static final Logger LOG = LoggerFactory.getLogger(QuickstartJob.class);

  public QuickstartJob {
    java.util.Objects.requireNonNull(data, "data is null");
    java.util.Objects.requireNonNull(specs, "specs is null");
  }

  /** One table the quickstart built. */
  public record BuiltTable(
      TableName table, TableFormat format, String sqlName, long rows, long version) {}

  /**
   * What the quickstart built.
   *
   * @param raw where the raw files are
   * @param tables the shop tables
   * @param batchesSkipped ingests skipped because their batch id was already committed (a re-run)
   * @param duration wall time
   */
  public record Result(Path raw, List<BuiltTable> tables, int batchesSkipped, Duration duration) {}

  public Result run(SparkSession spark) {
    long start = System.nanoTime();
    List<TableSpec> tableSpecs = loadSpecs();
    Platform platform = Platform.of(spark);
    Path raw = platform.home().resolve("raw");
    LOG.info(
        "Generating the shop: {} customers, {} products, {} orders under {}",
        data.customers(),
        data.products(),
        data.orders(),
        raw);
    ShopData.RawFiles files = data.writeRaw(spark, raw);
    new ApplyTablesJob(tableSpecs).run(spark);
    String batch = "quickstart-" + data.orders();
    List<IngestJob> ingests =
        List.of(
            IngestJob.builder(CUSTOMERS, files.customersCsv().toString(), SourceFormat.CSV)
                .optMode(WriteMode.MERGE)
                .optBatchId(batch + "-customers")
                .build(),
            IngestJob.builder(PRODUCTS, files.productsJson().toString(), SourceFormat.JSON)
                .optMode(WriteMode.MERGE)
                .optBatchId(batch + "-products")
                .build(),
            IngestJob.builder(ORDERS, files.ordersCsv().toString(), SourceFormat.CSV)
                .optMode(WriteMode.MERGE)
                .optBatchId(batch + "-orders")
                .build());
    int skipped = 0;
    for (IngestJob job : ingests) {
      if (job.run(spark).skipped()) {
        skipped++;
      }
    }
    List<BuiltTable> built = new ArrayList<>();
    for (TableName t : List.of(CUSTOMERS, PRODUCTS, ORDERS)) {
      TableInfo info = TableInfo.describe(spark, t);
      long rows = spark.table(info.sqlName()).count();
      built.add(new BuiltTable(t, info.format(), info.sqlName(), rows, info.version()));
    }
    return new Result(raw, built, skipped, Duration.ofNanos(System.nanoTime() - start));
  }

  private List<TableSpec> loadSpecs() {
    List<TableSpec> loaded;
    if (specs.isPresent()) {
      loaded = TableSpecs.load(specs.get());
    } else {
      loaded = new ArrayList<>();
      for (String name : BUNDLED) {
        loaded.add(YamlSpecReader.parse(resource(name), TableSpec.class, "bundled spec " + name));
      }
    }
    Set<TableName> needed = Set.of(CUSTOMERS, PRODUCTS, ORDERS);
    List<TableName> missing =
        needed.stream()
            .filter(n -> loaded.stream().noneMatch(s -> s.name().equals(n)))
            .sorted(java.util.Comparator.comparing(TableName::toString))
            .toList();
    if (!missing.isEmpty()) {
      throw new SpecException(
          String.format(
              "The quickstart needs specs for %s, but %s declares no such table: restore conf/tables/shop_*.yaml"
                  + " from the repository.",
              missing, specs.map(Path::toString).orElse("the jar")));
    }
    return loaded;
  }

  private static String resource(String name) {
    String path = "/lakeforge/conf/tables/" + name;
    try (InputStream in = QuickstartJob.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new SpecException("The jar holds no " + path + ": rebuild it with mvn package.");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True when {@code dir} exists (the quickstart then applies the specs found there). */
  public static Optional<Path> specsIfPresent(Path dir) {
    return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
  }
}
