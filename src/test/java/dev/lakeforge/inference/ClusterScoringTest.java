package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.testing.SparkTestBase;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scoring on a real multi-JVM Spark cluster: {@code local-cluster[2,2,1024]} (a master and two
 * workers in this JVM, each executor a JVM of its own), whose workers get two fake GPUs each from a
 * discovery script, with one GPU per executor and half a GPU per task (two tasks share a GPU).
 *
 * <p>The executors run the test's class path through a manifest-only "pathing" jar in {@code
 * $SPARK_HOME/jars} (surefire sets {@code SPARK_HOME} to {@code target/spark-home} and {@code
 * SPARK_SCALA_VERSION}): the workers start executors as {@code java -cp $SPARK_HOME/conf:
 * $SPARK_HOME/jars/*}, a short class path, so ONNX Runtime's crash on long class-path strings does
 * not arise, and no shaded jar has to be built for the test.
 *
 * <p>It proves that each executor loads the model once while many tasks score, that the output is
 * complete and equal to ONNX Runtime's, that each task would run on the GPU Spark assigned it, that
 * {@code device: cuda} fails on this CPU build naming the build, and that {@code auto} runs on the
 * CPU and says why.
 */
class ClusterScoringTest {
  private static final int ROWS = 20_000;
  private static final int PARTITIONS = 40;

  @TempDir static Path home;
  @TempDir static Path models;
  private static SparkSession spark;
  private static TestModels.Churn churn;
  private static ModelVersion churnV1;

  @BeforeAll
  static void startCluster() throws IOException {
    String sparkHome = System.getenv("SPARK_HOME");
    assertThat(sparkHome)
        .as(
            "SPARK_HOME (surefire sets it to target/spark-home; the workers build executors' class path from it)")
        .isNotBlank();
    pathingJar(Path.of(sparkHome).resolve("jars").resolve("lakeforge-test-classpath.jar"));
    Path gpus =
        SparkTestBase.write(
            home, "gpus.sh", "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}'\n");
    Files.setPosixFilePermissions(gpus, PosixFilePermissions.fromString("rwxr-xr-x"));

    SparkTestBase.stop();
    PlatformConfig config = PlatformConfig.defaults();
    Map<String, String> conf = new TreeMap<>();
    conf.put("spark.master", "local-cluster[2,2,1024]");
    conf.put("spark.executor.cores", "2");
    conf.put("spark.executor.memory", "1024m");
    // C1 only: executors start faster on 2 cores, and the test's work is small
    conf.put("spark.executor.extraJavaOptions", "-XX:TieredStopAtLevel=1");
    // both executors registered before the first job, so tasks spread over both
    conf.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
    conf.put("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s");
    conf.put("spark.sql.shuffle.partitions", "2");
    conf.put("spark.default.parallelism", "4");
    conf.put("spark.databricks.delta.snapshotPartitions", "2");
    conf.put("spark.worker.resource.gpu.amount", "2");
    conf.put("spark.worker.resource.gpu.discoveryScript", gpus.toString());
    conf.put(Placement.EXECUTOR_GPU_AMOUNT, "1");
    conf.put(Placement.TASK_GPU_AMOUNT, "0.5");
    spark = SessionFactory.getOrCreate(config, Platform.resolve(config, home), conf);

    churn = TestModels.trainChurn(models, 500);
    churnV1 = TestModels.register(spark, "churn", churn.onnx());
  }

  @AfterAll
  static void stopCluster() {
    SparkTestBase.stop();
    spark = null;
  }

  /**
   * A jar whose manifest's Class-Path is this JVM's class path: the executors load the test's
   * classes and dependencies through it.
   */
  private static void pathingJar(Path jar) throws IOException {
    List<String> entries = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!e.isBlank()) {
        entries.add(Path.of(e).toAbsolutePath().toUri().toString());
      }
    }
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", entries));
    Files.createDirectories(jar.getParent());
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream j = new JarOutputStream(out, manifest)) {
      j.flush();
    }
  }

  private static Mappings churnMappings() {
    return Mappings.builder()
        .input("input", InputMapping.tabular(NullPolicy.ERROR, churn.features()))
        .output("probability", OutputMapping.element("output", churn.index("churns")))
        .build();
  }

  /** Customers {@code 0..ROWS) in {@value #PARTITIONS} partitions, features derived from the id. */
  private static Dataset<Row> customers() {
    return spark
        .range(0, ROWS, 1, PARTITIONS)
        .select(
            functions.col("id").alias("customer_id"),
            functions.col("id").mod(10).cast("int").alias("orders_7d"),
            functions.col("id").mod(50).cast("double").alias("spend_30d"),
            functions.col("id").mod(60).alias("days_since_last"));
  }

  private static float feature(String name, long id) {
    return switch (name) {
      case "orders_7d" -> id % 10;
      case "spend_30d" -> id % 50;
      case "days_since_last" -> id % 60;
      default -> throw new IllegalArgumentException(name);
    };
  }

  @Test
  void eachExecutorLoadsTheModelOnceWhileManyTasksScoreTheWholeInputOnTheCpu() throws Exception {
    Scoring scoring =
        Scorer.of(ModelRef.parse("churn/" + churnV1.version()), churnMappings())
            .batchSize(100)
            .prepare(customers());
    String cpuBuild =
        "this build of Lakeforge has the CPU build of ONNX Runtime (build the GPU variant with the"
            + " Maven profile gpu: mvn -Pgpu package)";
    assertThat(scoring.placement())
        .as("auto with Spark's GPU settings but the CPU build")
        .isEqualTo(new Placement(Device.CPU, "device auto runs on the CPU: " + cpuBuild));

    List<Row> scored = new ArrayList<>(scoring.output().collectAsList());
    scored.sort(Comparator.comparingLong(r -> r.getLong(0)));

    float[][] features = new float[ROWS][];
    for (int id = 0; id < ROWS; id++) {
      float[] f = new float[churn.features().size()];
      for (int j = 0; j < f.length; j++) {
        f[j] = feature(churn.features().get(j), id);
      }
      features[id] = f;
    }
    float[][] expected = TestModels.run(churn.onnx(), "input", "output", features, 3);
    assertThat(scored).hasSize(ROWS);
    for (int id = 0; id < ROWS; id++) {
      assertThat(scored.get(id).getLong(0)).isEqualTo(id);
      assertThat(scored.get(id).getFloat(4))
          .as("customer %d", id)
          .isCloseTo(expected[id][churn.index("churns")], within(1e-6f));
    }

    ScoringMetrics m = scoring.metrics();
    assertThat(m.rows()).isEqualTo(ROWS);
    assertThat(m.loadsByExecutor())
        .as("one load per executor JVM, while %d tasks ran", PARTITIONS)
        .isEqualTo(Map.of("0", 1L, "1", 1L));
    List<ScoringMetrics.TaskDevice> tasks = m.taskDevices();
    assertThat(tasks).hasSize(PARTITIONS);
    assertThat(tasks).allSatisfy(t -> assertThat(t.device()).isEqualTo("cpu"));
    Map<String, Long> tasksByExecutor =
        tasks.stream()
            .collect(
                Collectors.groupingBy(ScoringMetrics.TaskDevice::executor, Collectors.counting()));
    assertThat(tasksByExecutor.keySet())
        .as("tasks by executor: %s", tasksByExecutor)
        .containsExactlyInAnyOrder("0", "1");
    assertThat(m.tasksByDevice()).isEqualTo(Map.of("cpu", (long) PARTITIONS));

    assertThat(scoring.output().collectAsList()).hasSize(ROWS);
    assertThat(m.loadsByExecutor())
        .as("a second action reuses each executor's model")
        .isEqualTo(Map.of("0", 1L, "1", 1L));
    assertThat(m.taskDevices()).hasSize(2 * PARTITIONS);
  }

  @Test
  void eachTaskOfAGpuPlacementUsesTheGpuSparkAssignedIt() {
    ModelSpec onGpus = ModelSpec.of(churnV1, Device.CUDA);
    MapPartitionsFunction<Long, String> probe =
        rows -> {
          TaskContext task = TaskContext.get();
          String assigned = String.join(",", task.resourcesJMap().get("gpu").addresses());
          DeviceId device = Placement.forTask(onGpus, task);
          return List.of(
                  task.partitionId()
                      + " "
                      + SparkEnv.get().executorId()
                      + " "
                      + assigned
                      + " "
                      + device
                      + " "
                      + onGpus.key(device))
              .iterator();
        };
    List<String> seen =
        spark.range(0, 32, 1, 16).mapPartitions(probe, Encoders.STRING()).collectAsList();

    assertThat(seen).hasSize(16);
    Set<String> executors = new java.util.TreeSet<>();
    for (String line : seen) {
      String[] f = line.split(" ", 5);
      executors.add(f[1]);
      assertThat(f[2]).as("task %s: half a GPU is one address", f[0]).matches("[01]");
      assertThat(f[3]).as("task %s on executor %s", f[0], f[1]).isEqualTo("cuda:" + f[2]);
      assertThat(f[4]).isEqualTo("churn/" + churnV1.version() + " on cuda:" + f[2]);
    }
    assertThat(executors).containsExactly("0", "1");
  }

  @Test
  void cudaOnTheCpuBuildFailsOnTheDriverNamingTheBuildOnly() {
    assertThatThrownBy(
            () ->
                Scorer.of(ModelRef.parse("churn/" + churnV1.version()), churnMappings())
                    .device(Device.CUDA)
                    .transform(customers()))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "Cannot score with model churn/"
                + churnV1.version()
                + " on device cuda: this build of Lakeforge has the CPU build of ONNX Runtime (build the"
                + " GPU variant with the Maven profile gpu: mvn -Pgpu package). Or use device: auto or"
                + " cpu to score on the CPU.");
  }
}
