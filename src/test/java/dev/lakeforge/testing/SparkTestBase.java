package dev.lakeforge.testing;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * One real {@code local[2]} SparkSession per test class, built by the production {@link
 * SessionFactory} on a temporary Lakeforge home (warehouse folder + SQLite catalog).
 */
public abstract class SparkTestBase {
  @TempDir protected static Path home;
  protected static SparkSession spark;

  @BeforeAll
  static void startSpark() {
    stop(); // a session left by another test class would point at another home
    spark = newSession(home);
  }

  @AfterAll
  static void stopSpark() {
    stop();
  }

  /** A new session on {@code home} (stop the running one first). */
  public static SparkSession newSession(Path home) {
    PlatformConfig config = PlatformConfig.defaults();
    return SessionFactory.getOrCreate(
        config,
        Platform.resolve(config, home),
        Map.of(
            "spark.master", "local[2]",
            "spark.sql.shuffle.partitions", "2",
            "spark.default.parallelism", "2",
            "spark.databricks.delta.snapshotPartitions", "2"));
  }

  /** Stops the running session so the next one starts fresh, as a new process would. */
  public static void stop() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
    SparkSession.getActiveSession()
        .foreach(
            s -> {
              s.stop();
              return null;
            });
    SparkSession.getDefaultSession()
        .foreach(
            s -> {
              s.stop();
              return null;
            });
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }

  /** Writes {@code text} to {@code dir/name} and returns the path. */
  public static Path write(Path dir, String name, String text) {
    try {
      Files.createDirectories(dir);
      return Files.writeString(dir.resolve(name), text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
