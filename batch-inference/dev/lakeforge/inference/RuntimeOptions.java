package dev.lakeforge.inference;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import java.io.Serializable;
import java.util.Objects;

/**
 * How a model runs on the executors; the {@code runtime:} section of a job spec.
 *
 * @param batchSize rows per model call (the last batch of a partition may be smaller)
 * @param threads ONNX Runtime intra-op threads per loaded model; the tasks of an executor share the
 *     model, so the default is {@value #THREADS_DEFAULT} and Spark's task slots give the
 *     parallelism
 * @param device where the model runs
 * @param bucketing for text inputs: whether rows are sorted by token length within a window of
 *     {@value #BUCKET_WINDOW_BATCHES} batches before they are cut into batches, so that each batch
 *     pads less (the output rows keep their input rows' values and order)
 */
public record RuntimeOptions(
    @JsonProperty("batch-size") int batchSize,
    @JsonProperty("threads") int threads,
    @JsonProperty("device") Device device,
    @JsonProperty("bucketing") boolean bucketing)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Rows per model call unless set. */
  public static final int BATCH_SIZE_DEFAULT = 512;

  /** The largest batch: a batch's input buffers are allocated once per partition. */
  public static final int BATCH_SIZE_MAX = 1 << 20;

  /** Intra-op threads per loaded model unless set. */
  public static final int THREADS_DEFAULT = 1;

  /** Where models run unless set. */
  public static final Device DEVICE_DEFAULT = Device.AUTO;

  /** Whether text rows are sorted by length before batching unless set. */
  public static final boolean BUCKETING_DEFAULT = true;

  /**
   * How many batches of text rows are read, tokenized and sorted by length together: a bounded
   * window, so a partition is never held in memory whole.
   */
  public static final int BUCKET_WINDOW_BATCHES = 8;

  /**
   * The defaults: {@value #BATCH_SIZE_DEFAULT} rows, {@value #THREADS_DEFAULT} thread, auto,
   * bucketing on.
   */
  public static final RuntimeOptions DEFAULTS =
      new RuntimeOptions(BATCH_SIZE_DEFAULT, THREADS_DEFAULT, DEVICE_DEFAULT, BUCKETING_DEFAULT);

  public RuntimeOptions {
    Objects.requireNonNull(device, "device is null");
    if (batchSize < 1 || batchSize > BATCH_SIZE_MAX) {
      throw new SpecException(
          String.format(
              "runtime: batch-size %d is out of range: use 1 to %d (default %d).",
              batchSize, BATCH_SIZE_MAX, BATCH_SIZE_DEFAULT));
    }
    if (threads < 1 || threads > 256) {
      throw new SpecException(
          String.format(
              "runtime: threads %d is out of range: use 1 to 256 (default %d).",
              threads, THREADS_DEFAULT));
    }
  }

  /** Options with bucketing on (its default). */
  public RuntimeOptions(int batchSize, int threads, Device device) {
    this(batchSize, threads, device, BUCKETING_DEFAULT);
  }

  @JsonCreator
  static RuntimeOptions create(
      @JsonProperty("batch-size") Integer batchSize,
      @JsonProperty("threads") Integer threads,
      @JsonProperty("device") Device device,
      @JsonProperty("bucketing") Boolean bucketing) {
    return new RuntimeOptions(
        batchSize == null ? BATCH_SIZE_DEFAULT : batchSize,
        threads == null ? THREADS_DEFAULT : threads,
        device == null ? DEVICE_DEFAULT : device,
        bucketing == null ? BUCKETING_DEFAULT : bucketing);
  }

  public RuntimeOptions withBatchSize(int rows) {
    return new RuntimeOptions(rows, threads, device, bucketing);
  }

  public RuntimeOptions withThreads(int n) {
    return new RuntimeOptions(batchSize, n, device, bucketing);
  }

  public RuntimeOptions withDevice(Device d) {
    return new RuntimeOptions(batchSize, threads, d, bucketing);
  }

  public RuntimeOptions withBucketing(boolean on) {
    return new RuntimeOptions(batchSize, threads, device, on);
  }
}
