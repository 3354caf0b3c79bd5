package dev.lakeforge.catalog;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One file of a model version: the model itself, or a file that goes with it (a tokenizer, a
 * config).
 *
 * @param name the file's name in the version (no folders)
 * @param sha256 lower-case hex sha256 of its bytes, checked at every load
 * @param size its size in bytes
 * @param model whether it is the file the engine loads (exactly one per version)
 */
public record ModelFile(
    @JsonProperty("name") String name,
    @JsonProperty("sha256") String sha256,
    @JsonProperty("size") long size,
    @JsonProperty("model") boolean model) {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public ModelFile {
    Objects.requireNonNull(name, "name is null");
    if (name.isBlank() || name.contains("/") || name.contains("\\")) {
      throw new SpecException(
          String.format(
              "Model file name '%s' is invalid: a plain file name, without folders.", name));
    }
    if (sha256 == null || !SHA256.matcher(sha256).matches()) {
      throw new SpecException(
          String.format("Model file %s: sha256 '%s' is not 64 hex digits.", name, sha256));
    }
    if (size < 0) {
      throw new SpecException(String.format("Model file %s: size %d is negative.", name, size));
    }
  }
}
