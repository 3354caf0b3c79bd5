package dev.lakeforge.inference;

import dev.lakeforge.catalog.ModelFlavor;
import java.nio.file.Path;

/**
 * Loads model artifacts of one flavor into {@link Predictor}s. One implementation per runtime (ONNX
 * Runtime for onnx, DJL's PyTorch engine for torchscript), chosen by the model version's flavor.
 */
public interface InferenceEngine {
  /** The runtime's name, for logs and run records ("onnxruntime"). */
  String name();

  /**
   * Loads the model at {@code artifact} (a local file whose checksum was verified).
   *
   * @param artifact the verified local model file
   * @param model the model version (named in errors)
   * @param on the device to run on: the CPU, or the GPU Spark assigned to the task
   * @param options threads
   * @throws InferenceException naming the model and file when the runtime cannot load it
   */
  Predictor load(Path artifact, ModelSpec model, DeviceId on, RuntimeOptions options);

  /** The engine that runs {@code flavor}; an error naming the model when there is none yet. */
  static InferenceEngine forFlavor(ModelFlavor flavor, String model) {
    return switch (flavor) {
      case ONNX -> new OnnxRuntimeEngine();
      case TORCHSCRIPT -> new DjlPyTorchEngine();
    };
  }
}
