package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import java.util.Locale;

/**
 * How a model artifact is run: through ONNX Runtime, or as a TorchScript file through DJL's PyTorch
 * engine.
 */
public enum ModelFlavor {
  ONNX,
  TORCHSCRIPT;

  public static ModelFlavor parse(String text) {
    for (ModelFlavor f : values()) {
      if (f.label().equals(text == null ? "" : text.trim().toLowerCase(Locale.ROOT))) {
        return f;
      }
    }
    throw new SpecException(
        String.format("Model flavor '%s' is not supported: use onnx or torchscript.", text));
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return label();
  }
}
