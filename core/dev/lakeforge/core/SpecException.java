package dev.lakeforge.core;

/**
 * A spec or config file (or one of its fields) is invalid. Nothing has been written when it is
 * thrown.
 */
public class SpecException extends LakeforgeException {
  private static final long serialVersionUID = 1L;

  public SpecException(String message) {
    super(message);
  }

  public SpecException(String message, Throwable cause) {
    super(message, cause);
  }
}
