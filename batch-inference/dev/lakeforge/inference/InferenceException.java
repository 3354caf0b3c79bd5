package dev.lakeforge.inference;

import dev.lakeforge.core.LakeforgeException;

/**
 * Scoring with a model was refused or failed. The message names the model (and the column, input or
 * output concerned) and says how to fix it.
 */
public class InferenceException extends LakeforgeException {
  private static final long serialVersionUID = 1L;

  public InferenceException(String message) {
    super(message);
  }

  public InferenceException(String message, Throwable cause) {
    super(message, cause);
  }
}
