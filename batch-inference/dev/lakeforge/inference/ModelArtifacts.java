package dev.lakeforge.inference;

import dev.lakeforge.catalog.VerifiedArtifacts;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Executor-side access to the model store: a local file holding a model version's artifact, checked
 * against the sha256 the catalog recorded. A local store's artifact is used in place; a remote one
 * ({@code s3a://}) is copied once into this JVM's cache folder ({@code
 * <java.io.tmpdir>/lakeforge-models/<sha256>/<file>}) and verified there, by the same {@link
 * VerifiedArtifacts} the registry opens models with; executors have only the {@link ModelSpec}.
 */
final class ModelArtifacts {
  /** The per-host cache of verified remote artifacts. */
  static final java.nio.file.Path CACHE =
      java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "lakeforge-models");

  private ModelArtifacts() {}

  /** The verified local artifact of {@code model}; a checksum mismatch is an error naming both. */
  static java.nio.file.Path localVerified(ModelSpec model, Configuration hadoop) {
    try {
      Path p = new Path(model.artifactUri());
      return VerifiedArtifacts.fetch(
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
