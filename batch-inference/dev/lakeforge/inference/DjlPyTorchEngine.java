package dev.lakeforge.inference;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * TorchScript models through DJL's PyTorch engine, offline: the CPU natives come from Maven; the
 * GPU build (Maven profile {@code gpu}) leaves them out, and the executors find a CUDA build of
 * libtorch through {@code PYTORCH_LIBRARY_PATH}. A model placed on a GPU runs on the one Spark
 * assigned to the task ({@code Device.gpu(index)}). A TorchScript module takes positional inputs
 * and returns a tensor or a tuple of tensors, without names: inputs are passed in the order of the
 * version's signature, and its outputs are named by the signature's outputs in order, so a
 * TorchScript version needs a signature (given at registration). One loaded module serves
 * concurrent {@code predict} calls, each with its own native memory scope.
 */
final class DjlPyTorchEngine implements InferenceEngine {
  static {
    // Never download natives or phone home at run time; the natives come from the
    // pytorch-native-cpu jar. Explicit settings by the user win.
    setIfAbsent("ai.djl.offline", "true");
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  @Override
  public String name() {
    return "pytorch";
  }

  /**
   * Whether PyTorch's CPU natives ({@code pytorch-native-cpu}, flavor cpu) are on the class path:
   * the CPU build. The GPU build leaves them out.
   */
  static boolean cpuNatives() {
    try (java.io.InputStream in =
        DjlPyTorchEngine.class
            .getClassLoader()
            .getResourceAsStream("native/lib/pytorch.properties")) {
      if (in == null) {
        return false;
      }
      java.util.Properties p = new java.util.Properties();
      p.load(in);
      return "cpu".equals(p.getProperty("flavor"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  public Predictor load(Path artifact, ModelSpec model, DeviceId on, RuntimeOptions options) {
    if (on.gpu() && cpuNatives()) {
      throw new InferenceException(
          String.format(
              "Cannot load model %s on %s: this executor has PyTorch's CPU natives only. Put the GPU"
                  + " build (Maven profile gpu) on the executors' class path and point PYTORCH_LIBRARY_PATH"
                  + " at a CUDA build of libtorch 2.7.1.",
              model, on));
    }
    if (model.inputs().isEmpty() || model.outputs().isEmpty()) {
      throw new InferenceException(
          String.format(
              "Cannot load model %s: a TorchScript model names neither its inputs nor its outputs, so its"
                  + " version needs a signature. Register it again with --signature.",
              model));
    }
    // PyTorch reads its thread counts once, when the engine starts: the first model loaded in
    // the JVM sets them (as ModelCache's first load sets an ONNX model's).
    setIfAbsent("ai.djl.pytorch.num_threads", Integer.toString(options.threads()));
    setIfAbsent("ai.djl.pytorch.num_interop_threads", "1");
    Model m = null;
    try {
      ai.djl.Device device = on.gpu() ? ai.djl.Device.gpu(on.index()) : ai.djl.Device.cpu();
      m = Model.newInstance(model.toString(), device, "PyTorch");
      m.load(artifact);
      return new TorchPredictor(model, m);
    } catch (Exception | UnsatisfiedLinkError e) {
      if (m != null) {
        m.close();
      }
      throw new InferenceException(
          String.format(
              "Cannot load model %s%s from %s with DJL's PyTorch engine: %s. Check that the file"
                  + " is a TorchScript module (torch.jit.trace or torch.jit.script, then .save())%s.",
              model,
              on.gpu() ? " on " + on : "",
              artifact,
              e.getMessage(),
              on.gpu()
                  ? ", and that PYTORCH_LIBRARY_PATH names a CUDA build of libtorch 2.7.1 on this"
                      + " executor"
                  : ""),
          e);
    }
  }

  private static final class TorchPredictor implements Predictor {
    private final ModelSpec model;
    private final Model torch;
    private volatile boolean closed;

    TorchPredictor(ModelSpec model, Model torch) {
      this.model = model;
      this.torch = torch;
    }

    @Override
    public Map<String, Tensor> predict(Map<String, Tensor> inputs, Set<String> outputs) {
      if (closed) {
        throw new InferenceException("Model " + model + " was closed; it cannot score any more.");
      }
      try (NDManager scope = torch.getNDManager().newSubManager()) {
        NDList in = new NDList();
        for (String name : model.inputs()) {
          Tensor t = inputs.get(name);
          if (t == null) {
            throw new InferenceException(
                String.format("Model %s needs input `%s`; the batch has %s.", model, name, inputs));
          }
          in.add(array(scope, t));
        }
        NDList out = torch.getBlock().forward(new ParameterStore(scope, false), in, false, null);
        List<String> names = model.outputs();
        if (out.size() != names.size()) {
          throw new InferenceException(
              String.format(
                  "Model %s returned %d outputs, but its signature names %d (%s). Register it with a"
                      + " signature that lists every output in the order the module returns them.",
                  model, out.size(), names.size(), names));
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
          if (outputs.contains(names.get(i))) {
            result.put(names.get(i), tensor(names.get(i), out.get(i)));
          }
        }
        return result;
      } catch (InferenceException e) {
        throw e;
      } catch (RuntimeException e) {
        throw new InferenceException(
            String.format(
                "Model %s failed on a batch of %s: %s", model, inputs.values(), e.getMessage()),
            e);
      }
    }

    private static NDArray array(NDManager scope, Tensor t) {
      Shape shape = new Shape(t.shape());
      return switch (t.type()) {
        case FLOAT32 -> scope.create(t.floats().duplicate(), shape, DataType.FLOAT32);
        case FLOAT64 -> scope.create(t.doubles().duplicate(), shape, DataType.FLOAT64);
        case INT32 -> scope.create(t.ints().duplicate(), shape, DataType.INT32);
        case INT64 -> scope.create(t.longs().duplicate(), shape, DataType.INT64);
      };
    }

    private Tensor tensor(String name, NDArray a) {
      long[] shape = a.getShape().getShape();
      return switch (a.getDataType()) {
        case FLOAT32 -> Tensor.of(java.nio.FloatBuffer.wrap(a.toFloatArray()), shape);
        case FLOAT64 -> Tensor.of(java.nio.DoubleBuffer.wrap(a.toDoubleArray()), shape);
        case INT32 -> Tensor.of(java.nio.IntBuffer.wrap(a.toIntArray()), shape);
        case INT64 -> Tensor.of(java.nio.LongBuffer.wrap(a.toLongArray()), shape);
        default ->
            throw new InferenceException(
                String.format(
                    "Model %s output `%s` has element type %s, which Lakeforge cannot map to a column yet"
                        + " (float, double, int32 and int64 work).",
                    model, name, a.getDataType()));
      };
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        torch.close();
      }
    }
  }
}
