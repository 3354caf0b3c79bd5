package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.LakeforgeProcess;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lakeforge infer} as a real process, killed with SIGKILL in the middle of its commits (what
 * a reclaimed spot instance does to a driver), then run again: the output holds exactly one row per
 * input row; rows appended to the input later are the only ones the next run scores.
 */
@org.junit.jupiter.api.Tag("processes") // mvn test -Pprocesses
class InferKillTest {
  private static final int ROWS = 2_400;
  private static final int COMMIT_ROWS = 400;

  @TempDir Path home;

  @BeforeEach
  @AfterEach
  void stop() {
    SparkTestBase.stop();
  }

  private CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  private Path csv(String name, long from, long to) throws Exception {
    return Files.writeString(
        home.resolve(name),
        "customer_id,orders_7d,spend_30d,days_since_last\n"
            + LongStream.range(from, to)
                .mapToObj(i -> i + "," + (i % 10) + "," + (i % 50) + ".5," + (i % 60))
                .collect(Collectors.joining("\n"))
            + "\n");
  }

  /** {@code count(*)}, {@code count(distinct customer_id)} and the newest run's rows, as csv. */
  private String counts() {
    return ok(
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n, count(DISTINCT customer_id) AS ids FROM predictions.churn")
        .out();
  }

  @Test
  void aKilledJobRunAgainScoresEachRowExactlyOnceAndLaterOnlyTheNewRows() throws Exception {
    TestModels.Churn churn = TestModels.trainChurn(home.resolve("train"), 300);
    Files.writeString(
        home.resolve("customers.yaml"),
        """
        name: shop.activity
        format: delta
        columns:
          - {name: customer_id, type: bigint, nullable: false}
          - {name: orders_7d, type: int}
          - {name: spend_30d, type: double}
          - {name: days_since_last, type: bigint}
        """);
    Path job =
        Files.writeString(
            home.resolve("job.yaml"),
            """
            name: score_activity
            model: churn@champion
            input: {table: shop.activity, keys: [customer_id]}
            inputs:
              input: {columns: [%s], nulls: zero}
            outputs:
              probability: {from: output, index: %d}
            output: {table: predictions.churn, commit-rows: %d}
            runtime: {batch-size: 256}
            """
                .formatted(
                    String.join(", ", churn.features()), churn.index("churns"), COMMIT_ROWS));
    ok("tables", "apply", home.resolve("customers.yaml").toString());
    ok(
        "tables",
        "ingest",
        "shop.activity",
        "--from",
        csv("first.csv", 0, ROWS).toString(),
        "--format",
        "csv",
        "--mode",
        "append");
    ok("models", "register", "churn", "--file", churn.onnx().toString(), "--flavor", "onnx");
    ok("models", "alias", "churn", "champion", "1");
    stop();

    Path log = home.resolve("infer-killed.log");
    Process p = LakeforgeProcess.start(home, log, "infer", job.toString());
    Pattern progress = Pattern.compile("score_activity: (\\d+) of " + ROWS + " rows");
    long doneBeforeKill = 0;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (doneBeforeKill < 2 * COMMIT_ROWS && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(100);
      Matcher m = progress.matcher(Files.readString(log));
      while (m.find()) {
        doneBeforeKill = Math.max(doneBeforeKill, Long.parseLong(m.group(1)));
      }
    }
    assertThat(p.isAlive())
        .as(
            "still committing when killed: %s",
            p.isAlive() ? "" : "exit " + p.exitValue() + "\n" + Files.readString(log))
        .isTrue();
    p.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();

    String afterKill = counts();
    long committed =
        Long.parseLong(afterKill.lines().skip(1).findFirst().orElseThrow().split(",")[0]);
    assertThat(committed).as(afterKill).isGreaterThanOrEqualTo(2 * COMMIT_ROWS).isLessThan(ROWS);
    assertThat(afterKill)
        .as("no key twice")
        .isEqualTo("n,ids\n%d,%d\n".formatted(committed, committed));

    // the killed run held the job's claim: its process is gone, so this run takes the claim over
    CliRun resumed = ok("infer", job.toString());
    assertThat(resumed.out())
        .contains(String.valueOf(ROWS - committed))
        .contains(
            "Model churn/1: device auto runs on the CPU: Spark assigns no GPUs to tasks in local"
                + " mode");
    assertThat(counts()).isEqualTo("n,ids\n%d,%d\n".formatted(ROWS, ROWS));

    ok("infer", job.toString());
    assertThat(counts())
        .as("a finished job writes nothing")
        .isEqualTo("n,ids\n%d,%d\n".formatted(ROWS, ROWS));

    ok(
        "tables",
        "ingest",
        "shop.activity",
        "--from",
        csv("more.csv", ROWS, ROWS + 50).toString(),
        "--format",
        "csv",
        "--mode",
        "append");
    ok("infer", job.toString());
    assertThat(counts()).isEqualTo("n,ids\n%d,%d\n".formatted(ROWS + 50, ROWS + 50));
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "SELECT min(customer_id), max(customer_id), count(*) FROM predictions.churn"
                        + " WHERE run_id = (SELECT max_by(run_id, scored_at) FROM predictions.churn)")
                .out())
        .as("the last run scored the appended rows only")
        .endsWith("%d,%d,50\n".formatted(ROWS, ROWS + 49));
  }
}
