package dev.lakeforge.catalog;

import dev.lakeforge.core.LakeforgeException;

/** The catalog database could not be reached or answered with an error. */
public class CatalogException extends LakeforgeException {
  private static final long serialVersionUID = 1L;

  public CatalogException(String message) {
    super(message);
  }

  public CatalogException(String message, Throwable cause) {
    super(message, cause);
  }
}
