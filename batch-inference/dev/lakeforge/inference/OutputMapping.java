package dev.lakeforge.inference;

import dev.lakeforge.core.SpecException;
import java.io.Serializable;
import java.util.List;

/**
 * How one output column is taken from a model output. Each row's part of the output tensor (the
 * elements after the batch dimension, row-major) is what the mapping sees.
 */
public sealed interface OutputMapping extends Serializable
    permits OutputMapping.Element,
        OutputMapping.Argmax,
        OutputMapping.Vector,
        OutputMapping.Pooled {

  /** The model output it reads. */
  String from();

  /**
   * One element of the row's output, e.g. the probability of class 1; the column has the output's
   * type (float, double, int or long).
   *
   * @param from the model output
   * @param index the element's position in the row's part
   */
  record Element(String from, int index) implements OutputMapping {
    private static final long serialVersionUID = 1L;

    public Element {
      checkFrom(from);
      if (index < 0) {
        throw new SpecException(
            String.format(
                "output from `%s`: index %d is negative; indexes start at 0.", from, index));
      }
    }
  }

  /**
   * The position of the row's largest element (ties: the first): an int column, or a string column
   * when labels are given (label {@code i} names position {@code i}).
   *
   * @param from the model output
   * @param labels names of the positions; empty for the position itself
   */
  record Argmax(String from, List<String> labels) implements OutputMapping {
    private static final long serialVersionUID = 1L;

    public Argmax {
      checkFrom(from);
      labels = labels == null ? List.of() : List.copyOf(labels);
    }
  }

  /** The row's whole output, as an {@code array<float>} column. */
  record Vector(String from) implements OutputMapping {
    private static final long serialVersionUID = 1L;

    public Vector {
      checkFrom(from);
    }
  }

  /** How a sequence output is pooled into one vector per row. */
  enum Pool {
    /**
     * The mean over the row's positions that the attention mask marks as real tokens (all positions
     * when the model has no text input).
     */
    MEAN;

    @com.fasterxml.jackson.annotation.JsonCreator
    public static Pool parse(String text) {
      for (Pool p : values()) {
        if (p.label().equals(text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT))) {
          return p;
        }
      }
      throw new SpecException(String.format("pool '%s' is not supported: use mean.", text));
    }

    @com.fasterxml.jackson.annotation.JsonValue
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A sequence output {@code [batch, sequence, width]} pooled over the sequence into one {@code
   * array<float>} of {@code width} per row, e.g. a sentence embedding from {@code
   * last_hidden_state}; optionally scaled to unit length (L2), so that a dot product is the cosine.
   *
   * @param from the model output
   * @param pool how positions are combined
   * @param normalize whether to scale each vector to length 1 (a zero vector stays zero)
   */
  record Pooled(String from, Pool pool, boolean normalize) implements OutputMapping {
    private static final long serialVersionUID = 1L;

    public Pooled {
      checkFrom(from);
      java.util.Objects.requireNonNull(pool, "pool is null");
    }
  }

  private static void checkFrom(String from) {
    if (from == null || from.isBlank()) {
      throw new SpecException("an output needs `from`: name the model output it reads.");
    }
  }

  static Element element(String from, int index) {
    return new Element(from, index);
  }

  static Argmax argmax(String from) {
    return new Argmax(from, List.of());
  }

  static Argmax argmax(String from, List<String> labels) {
    return new Argmax(from, labels);
  }

  static Vector vector(String from) {
    return new Vector(from);
  }

  /** The mean of {@code from} over the real tokens of each row, scaled to unit length if asked. */
  static Pooled meanPooled(String from, boolean normalize) {
    return new Pooled(from, Pool.MEAN, normalize);
  }
}
