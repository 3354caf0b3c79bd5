package dev.lakeforge.features;

import dev.lakeforge.core.LakeforgeException;

/**
 * A feature job cannot run as asked: a column is missing, key types differ, two sources bring the
 * same feature name, a source holds two rows for one entity at one timestamp. The message names the
 * source, the column and the fix.
 */
public class FeatureException extends LakeforgeException {
  private static final long serialVersionUID = 1L;

  public FeatureException(String message) {
    super(message);
  }
}
