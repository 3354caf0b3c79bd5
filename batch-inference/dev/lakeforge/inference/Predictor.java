package dev.lakeforge.inference;

import java.util.Map;
import java.util.Set;

/**
 * A loaded model that scores batches. Implementations are safe for concurrent {@link #predict}
 * calls (the tasks of an executor share one), hold native resources, and release them in {@link
 * #close()}; after that, {@code predict} fails.
 */
public interface Predictor extends AutoCloseable {
  /**
   * Runs the model on one batch.
   *
   * @param inputs a tensor for each of the model's inputs, by input name; the first dimension is
   *     the batch
   * @param outputs the names of the outputs to return
   * @return the requested outputs, by name, as tensors the caller owns
   * @throws InferenceException naming the model when the engine refuses the inputs or fails
   */
  Map<String, Tensor> predict(Map<String, Tensor> inputs, Set<String> outputs);

  /** Releases the model. Idempotent. */
  @Override
  void close();
}
