package dev.lakeforge.inference;

import dev.lakeforge.catalog.VerifiedArtifacts;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Executor-side access to the model store: local files holding all of a model version's files (the
 * model and those registered with it, e.g. a tokenizer), checked against the sha256 the catalog
 * recorded. A local store's files are used in place; a remote one's ({@code s3a://}) are copied
 * once into this JVM's cache folder ({@code <java.io.tmpdir>/lakeforge-models/<sha256>/<file>}) and
 * verified there, by the same {@link VerifiedArtifacts} the registry opens models with; executors
 * have only the {@link ModelSpec}.
 */
final class ModelArtifacts {
  /** The per-host cache of verified remote artifacts. */
  static final java.nio.file.Path CACHE =
      java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "lakeforge-models");

  private ModelArtifacts() {}

  /**
   * The verified local files of {@code model}; a checksum mismatch is an error naming the file and
   * both checksums.
   */
  static VerifiedArtifacts.LocalFiles localVerified(ModelSpec model, Configuration hadoop) {
    try {
      Path p = new Path(model.artifactUri());
      return VerifiedArtifacts.fetchAll(
          model.toString(), model.artifactUri(), model.sha256(), p.getFileSystem(hadoop), CACHE);
    } catch (IOException e) {
      throw new InferenceException(
          String.format(
              "Cannot read the artifact of model %s at %s from this executor: %s. Check that the model store"
                  + " is reachable from every executor (a shared folder or s3a://) with the same Hadoop"
                  + " settings as the driver.",
              model, model.artifactUri(), e.getMessage()),
          e);
    }
  }
}
