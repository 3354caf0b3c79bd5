package dev.lakeforge.catalog;

import dev.lakeforge.core.LakeforgeException;

/** A principal lacks the privilege an action needs; nothing was changed. */
public class AccessDeniedException extends LakeforgeException {
  private static final long serialVersionUID = 1L;

  public AccessDeniedException(String message) {
    super(message);
  }
}
