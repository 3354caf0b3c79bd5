package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CliRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Lakeforge processes (separate JVMs, as two {@code bin/lakeforge} commands) MERGE into the
 * same table on the same embedded home at the same time: both commits land (a conflict is retried),
 * nothing is lost or duplicated, each run records the version it committed, and a third session
 * reads it all. This is what a Derby-backed metastore could not do (one process at a time).
 */
@org.junit.jupiter.api.Tag("processes") // mvn test -Pprocesses
class TwoProcessesTest {
  private static final String SPEC =
      """
      name: conc.%1$s
      format: %1$s
      columns:
        - {name: id, type: bigint, nullable: false}
        - {name: writer, type: string}
      primary-key: [id]
      """;
  private static final int ROWS = 500;

  @TempDir Path home;

  @org.junit.jupiter.api.BeforeEach
  @AfterEach
  void stop() {
    dev.lakeforge.testing.SparkTestBase.stop();
  }

  private Path csv(String name, long from) throws IOException {
    String rows =
        LongStream.range(from, from + ROWS)
            .mapToObj(i -> i + "," + name)
            .collect(Collectors.joining("\n"));
    return Files.writeString(home.resolve(name + ".csv"), "id,writer\n" + rows + "\n");
  }

  private Process launch(String name, String... args) throws IOException {
    return dev.lakeforge.testing.LakeforgeProcess.start(home, home.resolve(name + ".log"), args);
  }

  private void bothSucceed(Process a, Process b) throws Exception {
    for (Process p : List.of(a, b)) {
      assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("process finished").isTrue();
    }
    String logs =
        Files.readString(home.resolve("w1.log")) + Files.readString(home.resolve("w2.log"));
    assertThat(a.exitValue()).as(logs).isZero();
    assertThat(b.exitValue()).as(logs).isZero();
  }

  @Test
  void concurrentWritersToOneHomeBothCommit() throws Exception {
    Path specs = Files.createDirectories(home.resolve("specs"));
    Files.writeString(specs.resolve("delta.yaml"), SPEC.formatted("delta"));
    Files.writeString(specs.resolve("iceberg.yaml"), SPEC.formatted("iceberg"));
    assertThat(CliRun.run(home, "tables", "apply", specs.toString()).code()).isZero();
    stop();
    Path w1 = csv("w1", 0);
    Path w2 = csv("w2", ROWS);

    for (String table : List.of("conc.delta", "conc.iceberg")) {
      Process a =
          launch(
              "w1",
              "tables",
              "ingest",
              table,
              "--from",
              w1.toString(),
              "--format",
              "csv",
              "--mode",
              "merge",
              "--batch-id",
              "w1");
      Process b =
          launch(
              "w2",
              "tables",
              "ingest",
              table,
              "--from",
              w2.toString(),
              "--format",
              "csv",
              "--mode",
              "merge",
              "--batch-id",
              "w2");
      bothSucceed(a, b);
    }

    // a third JVM-like session (the test's, started fresh) sees both writers' rows in both tables,
    // exactly once
    for (String sql : List.of("conc.delta", "iceberg.conc.iceberg")) {
      CliRun r =
          CliRun.run(
              home,
              "sql",
              "--format",
              "csv",
              "select writer, count(*) as n, count(distinct id) as ids from "
                  + sql
                  + " group by writer order by writer");
      assertThat(r.out())
          .as(r.toString())
          .isEqualTo("writer,n,ids\nw1,%d,%d\nw2,%d,%d\n".formatted(ROWS, ROWS, ROWS, ROWS));
    }
    assertThat(CliRun.run(home, "tables", "history", "conc.iceberg").out()).contains("w1", "w2");
    // each run records the version it committed, never the same "latest" version for both
    CliRun versions =
        CliRun.run(
            home,
            "sql",
            "--format",
            "csv",
            "select name, count(*) as runs, count(distinct version) as versions from lakeforge.run_io"
                + " where direction = 'output' and run_id in (select id from lakeforge.runs where"
                + " job = 'tables.ingest') group by name order by name");
    assertThat(versions.out())
        .as(versions.toString())
        .isEqualTo("name,runs,versions\nconc.delta,2,2\nconc.iceberg,2,2\n");
  }
}
