package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.ModelFlavor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * Where a model runs, decided on the driver from the requested device, the build and the Spark
 * settings: every combination, without Spark jobs. {@code ClusterScoringTest} checks the executor
 * half (each task on the GPU Spark assigned it) on a real multi-JVM cluster.
 */
class PlacementTest {
  private static final String CPU_BUILD =
      "this build of Lakeforge has the CPU build of ONNX Runtime (build the GPU variant with the Maven"
          + " profile gpu: mvn -Pgpu package)";

  private static SparkConf cluster(String executorGpus, String taskGpus) {
    SparkConf conf = new SparkConf(false).set("spark.master", "spark://127.0.0.1:7077");
    if (executorGpus != null) {
      conf.set(Placement.EXECUTOR_GPU_AMOUNT, executorGpus);
    }
    if (taskGpus != null) {
      conf.set(Placement.TASK_GPU_AMOUNT, taskGpus);
    }
    return conf;
  }

  private static Supplier<String> build(String missing, AtomicInteger probes) {
    return () -> {
      probes.incrementAndGet();
      return missing;
    };
  }

  @Test
  void sparkSettingsAreCompleteWithExecutorAndTaskAmountsOnAClusterMaster() {
    assertThat(Placement.missingSparkSettings(cluster("1", "0.5"))).isEmpty();
    assertThat(Placement.missingSparkSettings(cluster(null, "0.25")))
        .isEqualTo(
            "Spark assigns no GPUs to tasks: spark.executor.resource.gpu.amount is not set (set"
                + " spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount, and give the"
                + " workers GPUs with a discovery script, spark.worker.resource.gpu.discoveryScript or"
                + " spark.executor.resource.gpu.discoveryScript)");
    assertThat(Placement.missingSparkSettings(cluster(null, null)))
        .startsWith(
            "Spark assigns no GPUs to tasks: spark.executor.resource.gpu.amount and"
                + " spark.task.resource.gpu.amount are not set");
    assertThat(
            Placement.missingSparkSettings(
                cluster("1", "1").set("spark.master", "local-cluster[2,1,1024]")))
        .as("local-cluster runs executors that Spark assigns GPUs to")
        .isEmpty();
    assertThat(Placement.missingSparkSettings(cluster("1", "1").set("spark.master", "local[4]")))
        .isEqualTo(
            "Spark assigns no GPUs to tasks in local mode (master local[4]): GPUs need a cluster"
                + " master, with spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount"
                + " set");
  }

  @Test
  void autoRunsOnTheGpusOnlyWithTheGpuBuildAndTheSparkSettings() {
    AtomicInteger probes = new AtomicInteger();
    assertThat(Placement.decide(Device.AUTO, "churn/1", build("", probes), ""))
        .isEqualTo(new Placement(Device.CUDA, ""));

    assertThat(Placement.decide(Device.AUTO, "churn/1", build(CPU_BUILD, probes), ""))
        .isEqualTo(new Placement(Device.CPU, "device auto runs on the CPU: " + CPU_BUILD));

    String noSettings = Placement.missingSparkSettings(cluster(null, null));
    probes.set(0);
    assertThat(Placement.decide(Device.AUTO, "churn/1", build("", probes), noSettings))
        .isEqualTo(new Placement(Device.CPU, "device auto runs on the CPU: " + noSettings));
    assertThat(probes).as("without Spark GPUs the build is not probed").hasValue(0);
  }

  @Test
  void cpuIsTheCpuWhateverIsThere() {
    AtomicInteger probes = new AtomicInteger();
    assertThat(Placement.decide(Device.CPU, "churn/1", build("", probes), ""))
        .isEqualTo(new Placement(Device.CPU, ""));
    assertThat(probes).hasValue(0);
  }

  @Test
  void cudaFailsNamingEachMissingPart() {
    AtomicInteger probes = new AtomicInteger();
    String noTaskAmount = Placement.missingSparkSettings(cluster("1", null));
    assertThat(Placement.decide(Device.CUDA, "churn/1", build("", probes), ""))
        .isEqualTo(new Placement(Device.CUDA, ""));
    assertThatThrownBy(() -> Placement.decide(Device.CUDA, "churn/1", build(CPU_BUILD, probes), ""))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "Cannot score with model churn/1 on device cuda: "
                + CPU_BUILD
                + ". Or use device: auto or cpu to score on the CPU.");
    assertThatThrownBy(
            () -> Placement.decide(Device.CUDA, "churn/1", build("", probes), noTaskAmount))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "Cannot score with model churn/1 on device cuda: Spark assigns no GPUs to tasks:"
                + " spark.task.resource.gpu.amount is not set (set spark.executor.resource.gpu.amount and"
                + " spark.task.resource.gpu.amount, and give the workers GPUs with a discovery script,"
                + " spark.worker.resource.gpu.discoveryScript or"
                + " spark.executor.resource.gpu.discoveryScript). Or use device: auto or cpu to score on"
                + " the CPU.");
    assertThatThrownBy(
            () -> Placement.decide(Device.CUDA, "churn/1", build(CPU_BUILD, probes), noTaskAmount))
        .hasMessage(
            "Cannot score with model churn/1 on device cuda: "
                + CPU_BUILD
                + "; and "
                + noTaskAmount
                + ". Or use device: auto or cpu to score on the CPU.");
  }

  @Test
  void thisBuildIsTheCpuBuildForBothEngines() {
    assertThat(Placement.missingBuild(ModelFlavor.ONNX)).isEqualTo(CPU_BUILD);
    assertThat(Placement.missingBuild(ModelFlavor.TORCHSCRIPT))
        .isEqualTo(
            "this build of Lakeforge has PyTorch's CPU natives (build the GPU variant with the Maven"
                + " profile gpu: mvn -Pgpu package, and point PYTORCH_LIBRARY_PATH at a CUDA build of"
                + " libtorch 2.7.1)");
  }

  @Test
  void aTaskOfACpuPlacementRunsOnTheCpuWithoutATaskContext() {
    ModelSpec cpu =
        new ModelSpec("churn", 1, "0".repeat(64), "file:/m/churn/1", ModelFlavor.ONNX, Device.CPU);
    ModelSpec cuda =
        new ModelSpec("churn", 1, "0".repeat(64), "file:/m/churn/1", ModelFlavor.ONNX, Device.CUDA);
    assertThat(Placement.forTask(cpu, null)).isEqualTo(DeviceId.CPU);
    assertThatThrownBy(() -> Placement.forTask(cuda, null))
        .isInstanceOf(InferenceException.class)
        .hasMessage(
            "Cannot score with model churn/1 on device cuda: Spark assigned no GPU to this thread (not a"
                + " Spark task) (its resources: []). Set spark.executor.resource.gpu.amount and"
                + " spark.task.resource.gpu.amount for the application.");
    assertThat(cpu.key()).hasToString("churn/1 on cpu");
    assertThat(cuda.key(DeviceId.cuda(1))).hasToString("churn/1 on cuda:1");
    assertThatThrownBy(cuda::key).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void deviceIdsParseBackFromTheirText() {
    assertThat(DeviceId.parse("cuda:3")).isEqualTo(DeviceId.cuda(3)).hasToString("cuda:3");
    assertThat(DeviceId.parse("cpu")).isSameAs(DeviceId.CPU);
    assertThatThrownBy(() -> DeviceId.parse("cuda:x"))
        .hasMessage("device 'cuda:x' is not cpu or cuda:N (a GPU index)");
  }
}
