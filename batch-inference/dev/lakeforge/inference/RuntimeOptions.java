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
 */
public record RuntimeOptions(
    @JsonProperty("batch-size") int batchSize,
    @JsonProperty("threads") int threads,
    @JsonProperty("device") Device device)
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

  /** The defaults: {@value #BATCH_SIZE_DEFAULT} rows, {@value #THREADS_DEFAULT} thread, auto. */
  public static final RuntimeOptions DEFAULTS =
      new RuntimeOptions(BATCH_SIZE_DEFAULT, THREADS_DEFAULT, DEVICE_DEFAULT);

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

  @JsonCreator
  static RuntimeOptions create(
      @JsonProperty("batch-size") Integer batchSize,
      @JsonProperty("threads") Integer threads,
      @JsonProperty("device") Device device) {
    return new RuntimeOptions(
        batchSize == null ? BATCH_SIZE_DEFAULT : batchSize,
        threads == null ? THREADS_DEFAULT : threads,
        device == null ? DEVICE_DEFAULT : device);
  }

  public RuntimeOptions withBatchSize(int rows) {
    return new RuntimeOptions(rows, threads, device);
  }

  public RuntimeOptions withThreads(int n) {
    return new RuntimeOptions(batchSize, n, device);
  }

  public RuntimeOptions withDevice(Device d) {
    return new RuntimeOptions(batchSize, threads, d);
  }
}
