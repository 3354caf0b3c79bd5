package dev.lakeforge.inference;

import dev.lakeforge.catalog.ModelFlavor;
import dev.lakeforge.catalog.ModelVersion;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The model version a plan scores with, as it crosses from the driver to the executors: resolved on
 * the driver (an alias is already a version, access already checked), small and serializable.
 * Executors read the artifact from the model store by its URI and check it against the sha256
 * before loading it; they never open the catalog.
 *
 * @param model the model's name
 * @param version its version
 * @param sha256 the artifact's checksum recorded at registration
 * @param artifactUri where the artifact lives in the model store ({@code file:} or {@code s3a:})
 * @param flavor how it runs
 * @param device where it runs (resolved: never {@link Device#AUTO}); {@link Device#CUDA} means on
 *     the GPU Spark assigned to each task ({@link Placement#forTask})
 * @param inputs the signature's input names in order (engines whose models take positional inputs,
 *     like TorchScript, pass them in this order); empty when the version has no signature
 * @param outputs the signature's output names in order (a TorchScript model's tuple of outputs is
 *     named in this order)
 */
public record ModelSpec(
    String model,
    int version,
    String sha256,
    String artifactUri,
    ModelFlavor flavor,
    Device device,
    List<String> inputs,
    List<String> outputs)
    implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public ModelSpec {
    Objects.requireNonNull(model, "model is null");
    Objects.requireNonNull(sha256, "sha256 is null");
    Objects.requireNonNull(artifactUri, "artifactUri is null");
    Objects.requireNonNull(flavor, "flavor is null");
    Objects.requireNonNull(device, "device is null");
    if (version < 1) {
      throw new IllegalArgumentException("model " + model + ": version " + version + " < 1");
    }
    if (!SHA256.matcher(sha256).matches()) {
      throw new IllegalArgumentException("model " + model + ": sha256 is not 64 hex digits");
    }
    if (device == Device.AUTO) {
      throw new IllegalArgumentException("model " + model + ": resolve device auto first");
    }
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** A spec without the signature's names. */
  public ModelSpec(
      String model,
      int version,
      String sha256,
      String artifactUri,
      ModelFlavor flavor,
      Device device) {
    this(model, version, sha256, artifactUri, flavor, device, List.of(), List.of());
  }

  /** The spec of {@code v} running on {@code device}. */
  public static ModelSpec of(ModelVersion v, Device device) {
    List<String> in =
        v.signature().map(s -> s.inputs().stream().map(t -> t.name()).toList()).orElse(List.of());
    List<String> out =
        v.signature().map(s -> s.outputs().stream().map(t -> t.name()).toList()).orElse(List.of());
    return new ModelSpec(
        v.model(), v.version(), v.sha256(), v.artifactUri(), v.flavor(), device, in, out);
  }

  /** What the per-JVM cache keys this model by when it runs on the CPU. */
  public Key key() {
    if (device != Device.CPU) {
      throw new IllegalStateException(
          "model " + this + " runs on each task's GPU: key it by the task's device");
    }
    return key(DeviceId.CPU);
  }

  /** What the per-JVM cache keys this model by when it runs on {@code on}. */
  public Key key(DeviceId on) {
    return new Key(model, version, sha256, on);
  }

  /**
   * A loaded model's identity in a JVM: name, version and device ({@code cuda:1}: one load per GPU
   * the JVM's tasks were assigned), plus the checksum, so that two catalogs used from one JVM (two
   * homes in a notebook, tests) never share a model that only shares a name.
   */
  public record Key(String model, int version, String sha256, DeviceId device) {
    @Override
    public String toString() {
      return model + "/" + version + " on " + device;
    }
  }

  /** {@code name/version}, as a model reference prints. */
  @Override
  public String toString() {
    return model + "/" + version;
  }
}
