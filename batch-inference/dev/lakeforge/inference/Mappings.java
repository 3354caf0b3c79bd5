package dev.lakeforge.inference;

import dev.lakeforge.core.SpecException;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which columns feed which model inputs, and which output columns come from which model outputs.
 * Output columns are appended to the input's columns in the order given.
 *
 * @param inputs by model input name; every input of the model must be mapped
 * @param outputs by output column name
 */
public record Mappings(Map<String, InputMapping> inputs, Map<String, OutputMapping> outputs)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public Mappings {
    if (inputs == null || inputs.isEmpty()) {
      throw new SpecException(
          "No inputs are mapped: map each model input to columns (tabular) or an array column.");
    }
    if (outputs == null || outputs.isEmpty()) {
      throw new SpecException("No outputs are mapped: add at least one output column.");
    }
    for (String column : outputs.keySet()) {
      if (column == null || column.isBlank()) {
        throw new SpecException("An output column has an empty name.");
      }
    }
    inputs = Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
    outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Collects mappings in order; {@link #build()} validates them. */
  public static final class Builder {
    private final Map<String, InputMapping> inputs = new LinkedHashMap<>();
    private final Map<String, OutputMapping> outputs = new LinkedHashMap<>();

    private Builder() {}

    /** Fills the model input {@code name} as {@code mapping} says. */
    public Builder input(String name, InputMapping mapping) {
      if (inputs.put(name, mapping) != null) {
        throw new SpecException(String.format("Model input `%s` is mapped twice.", name));
      }
      return this;
    }

    /** Adds the output column {@code column} as {@code mapping} says. */
    public Builder output(String column, OutputMapping mapping) {
      if (outputs.put(column, mapping) != null) {
        throw new SpecException(String.format("Output column `%s` is mapped twice.", column));
      }
      return this;
    }

    public Mappings build() {
      return new Mappings(inputs, outputs);
    }
  }
}
