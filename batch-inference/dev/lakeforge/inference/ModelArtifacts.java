package dev.lakeforge.inference;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Executor-side access to the model store: a local file holding a model version's artifact, checked
 * against the sha256 the catalog recorded. A local store's artifact is used in place; a remote one
 * ({@code s3a://}) is copied once into this JVM's cache folder ({@code
 * <java.io.tmpdir>/lakeforge-models/<sha256>/<file>}) and verified there. This mirrors the
 * registry's own verified open, which needs the catalog; executors have only the {@link ModelSpec}.
 */
final class ModelArtifacts {
  /** The per-host cache of verified remote artifacts. */
  static final java.nio.file.Path CACHE =
      java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "lakeforge-models");

  private ModelArtifacts() {}

  /** The verified local artifact of {@code model}; a checksum mismatch is an error naming both. */
  static java.nio.file.Path localVerified(ModelSpec model, Configuration hadoop) {
    Path p = new Path(model.artifactUri());
    String scheme = p.toUri().getScheme();
    try {
      if (scheme == null || scheme.equals("file")) {
        java.nio.file.Path local = java.nio.file.Path.of(p.toUri().getPath());
        check(model, hash(Files.newInputStream(local)));
        return local;
      }
      java.nio.file.Path local = CACHE.resolve(model.sha256()).resolve(p.getName());
      if (Files.isRegularFile(local) && hash(Files.newInputStream(local)).equals(model.sha256())) {
        return local;
      }
      Files.createDirectories(local.getParent());
      java.nio.file.Path tmp = Files.createTempFile(local.getParent(), ".download-", "");
      try {
        FileSystem fs = p.getFileSystem(hadoop);
        try (InputStream in = fs.open(p)) {
          Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        check(model, hash(Files.newInputStream(tmp)));
        Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
      return local;
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

  private static void check(ModelSpec model, String actual) {
    if (!actual.equals(model.sha256())) {
      throw new InferenceException(
          String.format(
              "The artifact of model %s at %s has sha256 %s, but the catalog recorded %s when it was registered:"
                  + " the file was changed or corrupted. Do not use it; register the model again from a good"
                  + " copy.",
              model, model.artifactUri(), actual, model.sha256()));
    }
  }

  private static String hash(InputStream stream) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
    try (InputStream in = stream) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
