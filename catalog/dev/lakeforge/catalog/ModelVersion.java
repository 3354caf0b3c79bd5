package dev.lakeforge.catalog;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * One immutable version of a registered model.
 *
 * @param model the model's name
 * @param version 1, 2, 3… without gaps
 * @param flavor how it runs
 * @param artifactUri where the copied artifact lives in the model store: the model file, or the
 *     manifest listing the files of a multi-file version ({@link ModelRegistry#files})
 * @param sha256 the artifact's checksum, verified on every load (a manifest's covers the files it
 *     lists with their own checksums)
 * @param sizeBytes the size of the version's files
 * @param signature its inputs and outputs, if known
 * @param description free text
 * @param tags key/value labels
 * @param createdBy who registered it
 * @param createdAt when
 */
public record ModelVersion(
    String model,
    int version,
    ModelFlavor flavor,
    String artifactUri,
    String sha256,
    long sizeBytes,
    Optional<ModelSignature> signature,
    Optional<String> description,
    Map<String, String> tags,
    String createdBy,
    Instant createdAt) {

  public ModelRef ref() {
    return ModelRef.of(model, version);
  }
}
