package dev.lakeforge.inference;

import java.io.Serializable;
import java.util.Objects;

/**
 * The device a loaded model runs on in one JVM: the CPU, or one GPU by its index as Spark assigned
 * it to the task ({@code cuda:1}). {@link #toString()} parses back with {@link #parse}.
 *
 * @param kind {@link Device#CPU} or {@link Device#CUDA}, never {@link Device#AUTO}
 * @param index the GPU's index ({@code -1} for the CPU)
 */
public record DeviceId(Device kind, int index) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The CPU. */
  public static final DeviceId CPU = new DeviceId(Device.CPU, -1);

  public DeviceId {
    Objects.requireNonNull(kind, "kind is null");
    if (kind == Device.AUTO) {
      throw new IllegalArgumentException("device auto is a choice, not a device");
    }
    if (kind == Device.CPU && index != -1) {
      throw new IllegalArgumentException("the CPU has no index: " + index);
    }
    if (kind == Device.CUDA && index < 0) {
      throw new IllegalArgumentException("GPU index " + index + " < 0");
    }
  }

  /** GPU {@code index}. */
  public static DeviceId cuda(int index) {
    return new DeviceId(Device.CUDA, index);
  }

  /** {@code cpu} or {@code cuda:N}, as {@link #toString()} prints. */
  public static DeviceId parse(String text) {
    Objects.requireNonNull(text, "text is null");
    if (text.equals("cpu")) {
      return CPU;
    }
    if (text.startsWith("cuda:")) {
      try {
        return cuda(Integer.parseInt(text.substring("cuda:".length())));
      } catch (NumberFormatException e) {
        // reported below with the text
      }
    }
    throw new IllegalArgumentException(
        String.format("device '%s' is not cpu or cuda:N (a GPU index)", text));
  }

  /** Whether this is a GPU. */
  public boolean gpu() {
    return kind == Device.CUDA;
  }

  @Override
  public String toString() {
    return gpu() ? "cuda:" + index : "cpu";
  }
}
