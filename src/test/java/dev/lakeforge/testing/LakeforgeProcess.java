package dev.lakeforge.testing;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts {@code lakeforge <args>} in a new JVM, as a {@code bin/lakeforge} command would run: the
 * test's class path and module flags, a local Spark of one core, its output in {@code log}.
 */
public final class LakeforgeProcess {
  private LakeforgeProcess() {}

  /** Starts {@code lakeforge --home home <args>}, its stdout and stderr going to {@code log}. */
  public static Process start(Path home, Path log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens")
          || a.startsWith("-Djdk.reflect")
          || a.startsWith("-Dio.netty")) {
        cmd.add(a);
      }
    }
    cmd.addAll(
        List.of(
            "-Xmx1g",
            // C1 only, as bin/lakeforge starts short commands: half the JIT work on 2 cores
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            "dev.lakeforge.Main"));
    cmd.addAll(
        List.of(
            "--home",
            home.toString(),
            "--spark-conf",
            "spark.master=local[1]",
            "--spark-conf",
            "spark.sql.shuffle.partitions=1",
            "--spark-conf",
            "spark.databricks.delta.snapshotPartitions=1"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    return pb.start();
  }
}
