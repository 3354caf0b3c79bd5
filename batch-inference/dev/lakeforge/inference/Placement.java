package dev.lakeforge.inference;

import dev.lakeforge.catalog.ModelFlavor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * Where a scoring's model runs: decided once on the driver from the requested {@link Device}, the
 * build (ONNX Runtime's GPU build, or PyTorch without its CPU natives: the Maven profile {@code
 * gpu}) and the Spark settings that make Spark assign GPUs to tasks; then, on the executors, each
 * task runs the model on the GPU Spark assigned it ({@link #forTask}).
 *
 * <p>{@code cuda} fails at once when the build or the Spark settings are missing, naming what is
 * missing; {@code auto} runs on the GPUs when both are there, else on the CPU, and says why in
 * {@link #note()} (logged, and kept in a job's run record).
 *
 * @param device {@link Device#CPU} or {@link Device#CUDA} (the task's assigned GPU)
 * @param note why {@code auto} runs on the CPU; empty otherwise
 */
public record Placement(Device device, String note) {
  /** The name of the GPU resource in Spark's resource scheduling. */
  public static final String GPU_RESOURCE = "gpu";

  /** GPUs per executor: Spark assigns GPUs only when this and the task amount are set. */
  public static final String EXECUTOR_GPU_AMOUNT = "spark.executor.resource.gpu.amount";

  /** GPUs per task (a fraction, like 0.5, lets tasks share a GPU). */
  public static final String TASK_GPU_AMOUNT = "spark.task.resource.gpu.amount";

  /** The Maven profile that builds the GPU variant. */
  static final String GPU_PROFILE = "mvn -Pgpu package";

  public Placement {
    Objects.requireNonNull(device, "device is null");
    Objects.requireNonNull(note, "note is null");
    if (device == Device.AUTO) {
      throw new IllegalArgumentException("a placement is resolved: cpu or cuda, not auto");
    }
  }

  /**
   * The placement for {@code requested} in a session with {@code conf}, for a model of {@code
   * flavor}; the build is probed only when the Spark settings could place the model on GPUs (or
   * {@code cuda} was asked for), so CPU sessions load no native library here.
   *
   * @throws InferenceException for {@code cuda} without the GPU build or the Spark GPU settings
   */
  static Placement of(Device requested, String model, ModelFlavor flavor, SparkConf conf) {
    return decide(requested, model, () -> missingBuild(flavor), missingSparkSettings(conf));
  }

  /**
   * The decision, from what is missing: {@code build} supplies what the build lacks for GPUs (empty
   * when it has them), {@code spark} what the Spark settings lack (empty when tasks get GPUs).
   */
  static Placement decide(Device requested, String model, Supplier<String> build, String spark) {
    return switch (requested) {
      case CPU -> new Placement(Device.CPU, "");
      case AUTO -> {
        String why = spark.isEmpty() ? build.get() : spark;
        yield why.isEmpty()
            ? new Placement(Device.CUDA, "")
            : new Placement(Device.CPU, "device auto runs on the CPU: " + why);
      }
      case CUDA -> {
        List<String> missing = new ArrayList<>();
        String b = build.get();
        if (!b.isEmpty()) {
          missing.add(b);
        }
        if (!spark.isEmpty()) {
          missing.add(spark);
        }
        if (!missing.isEmpty()) {
          throw new InferenceException(
              String.format(
                  "Cannot score with model %s on device cuda: %s. Or use device: auto or cpu to score on"
                      + " the CPU.",
                  model, String.join("; and ", missing)));
        }
        yield new Placement(Device.CUDA, "");
      }
    };
  }

  /** What this build lacks to run {@code flavor} on GPUs; empty when it is the GPU build. */
  static String missingBuild(ModelFlavor flavor) {
    return switch (flavor) {
      case ONNX ->
          OnnxRuntimeEngine.cudaProvider()
              ? ""
              : "this build of Lakeforge has the CPU build of ONNX Runtime (build the GPU variant with the"
                  + " Maven profile gpu: "
                  + GPU_PROFILE
                  + ")";
      case TORCHSCRIPT ->
          DjlPyTorchEngine.cpuNatives()
              ? "this build of Lakeforge has PyTorch's CPU natives (build the GPU variant with the Maven"
                  + " profile gpu: "
                  + GPU_PROFILE
                  + ", and point PYTORCH_LIBRARY_PATH at a CUDA build of libtorch 2.7.1)"
              : "";
    };
  }

  /** What the Spark settings lack for Spark to assign GPUs to tasks; empty when nothing. */
  static String missingSparkSettings(SparkConf conf) {
    String master = conf.get("spark.master", "");
    if (master.equals("local") || master.startsWith("local[")) {
      return String.format(
          "Spark assigns no GPUs to tasks in local mode (master %s): GPUs need a cluster master, with %s"
              + " and %s set",
          master, EXECUTOR_GPU_AMOUNT, TASK_GPU_AMOUNT);
    }
    List<String> unset = new ArrayList<>();
    for (String key : List.of(EXECUTOR_GPU_AMOUNT, TASK_GPU_AMOUNT)) {
      if (amount(conf, key) <= 0) {
        unset.add(key);
      }
    }
    if (unset.isEmpty()) {
      return "";
    }
    return String.format(
        "Spark assigns no GPUs to tasks: %s %s not set (set %s and %s, and give the workers GPUs with a"
            + " discovery script, spark.worker.resource.gpu.discoveryScript or"
            + " spark.executor.resource.gpu.discoveryScript)",
        String.join(" and ", unset),
        unset.size() == 1 ? "is" : "are",
        EXECUTOR_GPU_AMOUNT,
        TASK_GPU_AMOUNT);
  }

  private static double amount(SparkConf conf, String key) {
    String v = conf.get(key, "0").trim();
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new InferenceException(
          String.format("Spark setting %s is '%s', not a number of GPUs.", key, v), e);
    }
  }

  /**
   * The device a task of a scoring placed on {@code model.device()} runs the model on: the CPU, or
   * the first GPU address Spark assigned to {@code task}.
   *
   * @throws InferenceException when a GPU placement's task has no GPU, or one whose address is not
   *     a device index
   */
  static DeviceId forTask(ModelSpec model, TaskContext task) {
    if (model.device() == Device.CPU) {
      return DeviceId.CPU;
    }
    Map<String, ResourceInformation> resources = task == null ? Map.of() : task.resourcesJMap();
    ResourceInformation gpu = resources.get(GPU_RESOURCE);
    if (gpu == null || gpu.addresses().length == 0) {
      throw new InferenceException(
          String.format(
              "Cannot score with model %s on device cuda: Spark assigned no GPU to %s (its resources: %s)."
                  + " Set %s and %s for the application.",
              model, describe(task), resources.keySet(), EXECUTOR_GPU_AMOUNT, TASK_GPU_AMOUNT));
    }
    String address = gpu.addresses()[0];
    try {
      return DeviceId.cuda(Integer.parseInt(address.trim()));
    } catch (IllegalArgumentException e) {
      throw new InferenceException(
          String.format(
              "Cannot score with model %s on device cuda: Spark assigned GPU '%s' to %s, which is not a"
                  + " device index. The GPU discovery script must report CUDA device indexes (0, 1, ...).",
              model, address, describe(task)),
          e);
    }
  }

  private static String describe(TaskContext task) {
    return task == null
        ? "this thread (not a Spark task)"
        : String.format(
            "task %d (stage %d, partition %d)",
            task.taskAttemptId(), task.stageId(), task.partitionId());
  }
}
