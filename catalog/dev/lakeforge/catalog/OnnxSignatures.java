package dev.lakeforge.catalog;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.lakeforge.core.SpecException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a model's signature from the ONNX file itself (input and output names, element types and
 * shapes) by opening it with ONNX Runtime on CPU, which also proves the file is a model ONNX
 * Runtime can load.
 */
final class OnnxSignatures {
  private OnnxSignatures() {}

  /**
   * The signature of the ONNX model at {@code file}; empty when it has non-tensor inputs or outputs
   * (sequences, maps), which a signature cannot describe. A file ONNX Runtime cannot load is an
   * error naming it.
   */
  static Optional<ModelSignature> read(String model, Path file) {
    OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = env.createSession(file.toString(), options)) {
      Optional<List<ModelSignature.Tensor>> inputs = tensors(session.getInputInfo());
      Optional<List<ModelSignature.Tensor>> outputs = tensors(session.getOutputInfo());
      if (inputs.isEmpty() || outputs.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(new ModelSignature(inputs.get(), outputs.get()));
    } catch (OrtException e) {
      throw new SpecException(
          String.format(
              "Cannot register model %s: %s is not an ONNX model ONNX Runtime can load (%s). Check --file and"
                  + " --flavor.",
              model, file, e.getMessage()),
          e);
    }
  }

  private static Optional<List<ModelSignature.Tensor>> tensors(Map<String, NodeInfo> nodes) {
    List<ModelSignature.Tensor> out = new ArrayList<>();
    for (NodeInfo n : nodes.values()) {
      if (!(n.getInfo() instanceof TensorInfo t)) {
        return Optional.empty();
      }
      List<Long> shape = new ArrayList<>();
      for (long d : t.getShape()) {
        shape.add(d <= 0 ? -1L : d);
      }
      out.add(new ModelSignature.Tensor(n.getName(), type(t.type), shape));
    }
    return Optional.of(out);
  }

  private static String type(OnnxJavaType t) {
    return switch (t) {
      case FLOAT -> "float32";
      case DOUBLE -> "float64";
      case FLOAT16, BFLOAT16 -> "float16";
      case INT8 -> "int8";
      case INT16 -> "int16";
      case INT32 -> "int32";
      case INT64 -> "int64";
      case UINT8 -> "uint8";
      case BOOL -> "bool";
      case STRING -> "string";
      default ->
          throw new SpecException("ONNX element type " + t + " has no Lakeforge signature type.");
    };
  }
}
