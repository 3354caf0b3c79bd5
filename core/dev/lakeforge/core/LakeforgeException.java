package dev.lakeforge.core;

/**
 * Root of every error Lakeforge reports to a user. The message is complete on its own: it names the
 * thing that is wrong (file, field, table, model) and says how to fix it. Components subclass it;
 * the CLI prints the message and exits non-zero.
 */
public class LakeforgeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LakeforgeException(String message) {
    super(message);
  }

  public LakeforgeException(String message, Throwable cause) {
    super(message, cause);
  }
}
