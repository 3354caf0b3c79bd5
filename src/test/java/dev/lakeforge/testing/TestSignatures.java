package dev.lakeforge.testing;

import dev.lakeforge.catalog.ModelSignature;
import java.util.List;
import java.util.Optional;

/**
 * Signatures for the tests that register stand-in TorchScript files (a few bytes, never loaded): a
 * TorchScript version must be registered with one.
 */
public final class TestSignatures {
  private TestSignatures() {}

  /** One float input {@code x} of shape {@code [-1, 3]}, one float output {@code y}. */
  public static final ModelSignature X_TO_Y =
      new ModelSignature(
          List.of(new ModelSignature.Tensor("x", "float32", List.of(-1L, 3L))),
          List.of(new ModelSignature.Tensor("y", "float32", List.of(-1L))));

  /** {@link #X_TO_Y}, as a registration takes it. */
  public static Optional<ModelSignature> xToY() {
    return Optional.of(X_TO_Y);
  }

  /** {@link #X_TO_Y} as a signature file's YAML, for {@code models register --signature}. */
  public static final String X_TO_Y_YAML =
      """
      inputs: [{name: x, type: float32, shape: [-1, 3]}]
      outputs: [{name: y, type: float32, shape: [-1]}]
      """;
}
