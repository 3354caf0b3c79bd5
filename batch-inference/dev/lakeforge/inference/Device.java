package dev.lakeforge.inference;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.lakeforge.core.SpecException;
import java.util.Locale;

/**
 * Where a model runs. {@code auto} uses the GPU Spark assigned to the task when there is one, else
 * the CPU; {@code cuda} requires a GPU; {@code cpu} never uses one.
 */
public enum Device {
  AUTO,
  CPU,
  CUDA;

  @JsonCreator
  public static Device parse(String text) {
    for (Device d : values()) {
      if (d.label().equals(text == null ? "" : text.trim().toLowerCase(Locale.ROOT))) {
        return d;
      }
    }
    throw new SpecException(
        String.format("device '%s' is not supported: use auto, cpu or cuda.", text));
  }

  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return label();
  }
}
