package dev.lakeforge.catalog;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a model takes and returns: named tensors with an element type and a shape ({@code -1} for a
 * dynamic dimension, e.g. the batch). Read from a YAML/JSON file given at registration ({@code
 * --signature}).
 *
 * @param inputs the input tensors, in order
 * @param outputs the output tensors, in order
 */
public record ModelSignature(
    @JsonProperty("inputs") List<Tensor> inputs, @JsonProperty("outputs") List<Tensor> outputs) {
  /** Element types a tensor may have. */
  public static final Set<String> TYPES =
      Set.of(
          "float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool",
          "string");

  public ModelSignature {
    if (inputs == null || inputs.isEmpty()) {
      throw new SpecException(
          "signature: `inputs` is missing or empty: list the model's input tensors.");
    }
    if (outputs == null || outputs.isEmpty()) {
      throw new SpecException(
          "signature: `outputs` is missing or empty: list the model's output tensors.");
    }
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    unique("inputs", inputs);
    unique("outputs", outputs);
  }

  private static void unique(String field, List<Tensor> tensors) {
    Set<String> seen = new HashSet<>();
    for (Tensor t : tensors) {
      if (!seen.add(t.name())) {
        throw new SpecException(String.format("signature: %s name `%s` twice.", field, t.name()));
      }
    }
  }

  /**
   * One tensor.
   *
   * @param name its name in the model
   * @param type element type, one of {@link #TYPES}
   * @param shape dimensions; {@code -1} is dynamic
   */
  public record Tensor(
      @JsonProperty("name") String name,
      @JsonProperty("type") String type,
      @JsonProperty("shape") List<Long> shape) {
    public Tensor {
      if (name == null || name.isBlank()) {
        throw new SpecException("signature: a tensor has no `name`.");
      }
      if (type == null || !TYPES.contains(type)) {
        throw new SpecException(
            String.format(
                "signature: tensor `%s` has type '%s': use one of %s.",
                name, type, new java.util.TreeSet<>(TYPES)));
      }
      Objects.requireNonNull(shape, "shape");
      shape = List.copyOf(shape);
      for (long d : shape) {
        if (d < -1 || d == 0) {
          throw new SpecException(
              String.format(
                  "signature: tensor `%s` has dimension %d: use a positive size or -1 (dynamic).",
                  name, d));
        }
      }
    }
  }
}
