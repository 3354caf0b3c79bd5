package dev.lakeforge.inference;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * What the scoring tasks did, gathered with Spark accumulators: rows, model calls (batches), the
 * model loads, each load attributed to the executor whose JVM loaded it, and the device each task
 * ran the model on. They count the actions run on the scored DataFrame so far: a DataFrame computed
 * twice counts twice, and a retried task counts again.
 */
public final class ScoringMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  private final LongAccumulator rows;
  private final LongAccumulator batches;
  private final LongAccumulator loadNanos;
  private final CollectionAccumulator<String> loadedOn;
  private final CollectionAccumulator<TaskDevice> devices;

  /**
   * The device one task ran the model on.
   *
   * @param taskAttemptId Spark's task attempt id (unique in the application)
   * @param stage the task's stage
   * @param partition the partition it scored
   * @param executor the executor id ({@code driver} in local mode)
   * @param device {@code cpu}, or {@code cuda:N} for the GPU Spark assigned to the task
   */
  public record TaskDevice(
      long taskAttemptId, int stage, int partition, String executor, String device)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  private ScoringMetrics(SparkContext sc, String model) {
    this.rows = sc.longAccumulator("lakeforge " + model + " rows");
    this.batches = sc.longAccumulator("lakeforge " + model + " batches");
    this.loadNanos = sc.longAccumulator("lakeforge " + model + " load ns");
    this.loadedOn = sc.collectionAccumulator("lakeforge " + model + " loads");
    this.devices = sc.collectionAccumulator("lakeforge " + model + " task devices");
  }

  static ScoringMetrics register(SparkContext sc, ModelSpec model) {
    return new ScoringMetrics(sc, model.toString());
  }

  void batch(int rowsInBatch) {
    rows.add(rowsInBatch);
    batches.add(1);
  }

  void loaded(long nanos) {
    loadNanos.add(nanos);
    loadedOn.add(executorId());
  }

  /** Records that {@code task} (null outside Spark) runs the model on {@code on}: once a task. */
  void ran(TaskContext task, DeviceId on) {
    if (task != null) {
      devices.add(
          new TaskDevice(
              task.taskAttemptId(),
              task.stageId(),
              task.partitionId(),
              executorId(),
              on.toString()));
    }
  }

  private static String executorId() {
    SparkEnv env = SparkEnv.get();
    return env == null ? "unknown" : env.executorId();
  }

  /** Rows scored. */
  public long rows() {
    return rows.value();
  }

  /** Model calls: one per batch, never one per row. */
  public long batches() {
    return batches.value();
  }

  /** Model loads, over all executors. */
  public long modelLoads() {
    return loadedOn.value().size();
  }

  /** Loads by executor id ({@code driver} in local mode): 1 each when the cache works. */
  public Map<String, Long> loadsByExecutor() {
    Map<String, Long> out = new TreeMap<>();
    for (String id : loadedOn.value()) {
      out.merge(id, 1L, Long::sum);
    }
    return out;
  }

  /** The device each task that scored rows ran the model on, ordered by task attempt id. */
  public List<TaskDevice> taskDevices() {
    List<TaskDevice> out = new ArrayList<>(devices.value());
    out.sort(Comparator.comparingLong(TaskDevice::taskAttemptId));
    return out;
  }

  /** Tasks by the device they ran the model on ({@code cpu}, {@code cuda:0}...). */
  public Map<String, Long> tasksByDevice() {
    Map<String, Long> out = new TreeMap<>();
    for (TaskDevice t : devices.value()) {
      out.merge(t.device(), 1L, Long::sum);
    }
    return out;
  }

  /** Time spent loading the model, summed over the loads. */
  public long modelLoadMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loadNanos.value());
  }

  @Override
  public String toString() {
    return String.format(
        "%d rows in %d batches; model loads %s (%d ms); tasks by device %s",
        rows(), batches(), loadsByExecutor(), modelLoadMillis(), tasksByDevice());
  }
}
