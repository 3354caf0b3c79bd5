package dev.lakeforge.bench;

import dev.lakeforge.quickstart.ShopData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The raw files every round reads, written once so that all rounds ingest identical bytes.
 *
 * @param tinyCsv a one-row CSV for the small commits
 * @param warmUpOrdersCsv a small orders CSV for warm-up ingests
 * @param ordersCsv the measured orders CSV (a folder of part files)
 * @param orders rows in {@code ordersCsv}
 */
record BenchData(Path tinyCsv, Path warmUpOrdersCsv, Path ordersCsv, long orders) {
  static final long WARM_UP_ORDERS = 2_000;

  /** Writes the files under {@code dir} with {@code spark}. */
  static BenchData write(SparkSession spark, Path dir, long orders) {
    try {
      Path tiny = Files.createDirectories(dir.resolve("tiny")).resolve("one-row.csv");
      Files.writeString(tiny, "id,note\n1,one row\n");
      Path warm = new ShopData(WARM_UP_ORDERS).writeRaw(spark, dir.resolve("warm-up")).ordersCsv();
      Path measured = new ShopData(orders).writeRaw(spark, dir.resolve("measured")).ordersCsv();
      return new BenchData(tiny, warm, measured, orders);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the benchmark's raw files under " + dir, e);
    }
  }
}
