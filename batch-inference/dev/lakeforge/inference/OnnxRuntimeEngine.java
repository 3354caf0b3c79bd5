package dev.lakeforge.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.lakeforge.catalog.OnnxEnvironment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * ONNX Runtime (Java): the CPU build, or with the Maven profile {@code gpu} the GPU build, whose
 * CUDA execution provider runs a model on the GPU Spark assigned to the task. Input tensors are
 * created over the caller's buffers: a direct buffer is handed to the runtime without a copy. One
 * session serves concurrent {@code predict} calls.
 */
final class OnnxRuntimeEngine implements InferenceEngine {
  @Override
  public String name() {
    return "onnxruntime";
  }

  @Override
  public Predictor load(Path artifact, ModelSpec model, DeviceId on, RuntimeOptions options) {
    OrtEnvironment env = OnnxEnvironment.get();
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    try {
      so.setIntraOpNumThreads(options.threads());
      so.setInterOpNumThreads(1);
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      if (on.gpu()) {
        cuda(so, model, on);
      }
      return new OnnxPredictor(model, env, env.createSession(artifact.toString(), so), so);
    } catch (OrtException e) {
      so.close();
      throw new InferenceException(
          String.format(
              "Cannot load model %s%s from %s with ONNX Runtime: %s",
              model, on.gpu() ? " on " + on : "", artifact, e.getMessage()),
          e);
    } catch (RuntimeException e) {
      so.close();
      throw e;
    }
  }

  /** Adds the CUDA execution provider on GPU {@code on} (operators it lacks run on the CPU). */
  private static void cuda(OrtSession.SessionOptions so, ModelSpec model, DeviceId on) {
    if (!cudaProvider()) {
      throw new InferenceException(
          String.format(
              "Cannot load model %s on %s: this executor has the CPU build of ONNX Runtime (providers %s)."
                  + " Put the GPU build (Maven profile gpu) on the executors' class path.",
              model, on, OrtEnvironment.getAvailableProviders()));
    }
    try {
      so.addCUDA(on.index());
    } catch (OrtException e) {
      throw new InferenceException(
          String.format(
              "Cannot load model %s on %s: ONNX Runtime's CUDA execution provider did not start: %s."
                  + " The executor needs the CUDA 12 and cuDNN 9 libraries that ONNX Runtime %s"
                  + " links against on its library path.",
              model, on, e.getMessage(), OnnxEnvironment.get().getVersion()),
          e);
    }
  }

  /**
   * Whether the ONNX Runtime on the class path is the GPU build (it has the CUDA execution
   * provider). Loads the native library (through {@link OnnxEnvironment}); whether a GPU is present
   * is not checked.
   */
  static boolean cudaProvider() {
    OnnxEnvironment.get();
    return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
  }

  private static final class OnnxPredictor implements Predictor {
    private final ModelSpec model;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private volatile boolean closed;

    OnnxPredictor(
        ModelSpec model,
        OrtEnvironment env,
        OrtSession session,
        OrtSession.SessionOptions options) {
      this.model = model;
      this.env = env;
      this.session = session;
      this.options = options;
    }

    @Override
    public Map<String, Tensor> predict(Map<String, Tensor> inputs, Set<String> outputs) {
      if (closed) {
        throw new InferenceException("Model " + model + " was closed; it cannot score any more.");
      }
      Map<String, OnnxTensor> in = new LinkedHashMap<>();
      try {
        for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
          in.put(e.getKey(), onnx(e.getValue()));
        }
        try (OrtSession.Result result = session.run(in, outputs)) {
          Map<String, Tensor> out = new LinkedHashMap<>();
          for (String name : outputs) {
            OnnxValue v =
                result
                    .get(name)
                    .orElseThrow(
                        () ->
                            new InferenceException(
                                String.format("Model %s returned no output `%s`.", model, name)));
            out.put(name, tensor(name, v));
          }
          return out;
        }
      } catch (OrtException e) {
        throw new InferenceException(
            String.format(
                "Model %s failed on a batch of %s: %s", model, inputs.values(), e.getMessage()),
            e);
      } finally {
        in.values().forEach(OnnxTensor::close);
      }
    }

    private OnnxTensor onnx(Tensor t) throws OrtException {
      return switch (t.type()) {
        case FLOAT32 -> OnnxTensor.createTensor(env, t.floats(), t.shape());
        case FLOAT64 -> OnnxTensor.createTensor(env, t.doubles(), t.shape());
        case INT32 -> OnnxTensor.createTensor(env, t.ints(), t.shape());
        case INT64 -> OnnxTensor.createTensor(env, t.longs(), t.shape());
      };
    }

    private Tensor tensor(String name, OnnxValue v) {
      if (!(v instanceof OnnxTensor t)) {
        throw new InferenceException(
            String.format(
                "Model %s output `%s` is a %s, not a tensor: it cannot be mapped to a column.",
                model, name, v.getType()));
      }
      TensorInfo info = t.getInfo();
      long[] shape = info.getShape();
      return switch (info.type) {
        case FLOAT -> Tensor.of(t.getFloatBuffer(), shape);
        case DOUBLE -> Tensor.of(t.getDoubleBuffer(), shape);
        case INT32 -> Tensor.of(t.getIntBuffer(), shape);
        case INT64 -> Tensor.of(t.getLongBuffer(), shape);
        default ->
            throw new InferenceException(
                String.format(
                    "Model %s output `%s` has element type %s, which Lakeforge cannot map to a column yet"
                        + " (float, double, int32 and int64 work).",
                    model, name, info.type));
      };
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      try {
        session.close();
      } catch (OrtException e) {
        throw new InferenceException("Cannot close model " + model + ": " + e.getMessage(), e);
      } finally {
        options.close();
      }
    }
  }
}
