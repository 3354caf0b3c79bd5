package dev.lakeforge.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A model artifact as a local file, checked against the sha256 the catalog recorded: the artifact
 * itself when it is local, else a copy verified into a cache folder (once per checksum). Needs no
 * catalog connection, so the registry's driver and the executors that score with the model share
 * it.
 */
public final class VerifiedArtifacts {
  private VerifiedArtifacts() {}

  /**
   * The local, verified file of the artifact at {@code uri} of model {@code model}; a checksum
   * mismatch is a {@link CatalogException} naming the model, the file and both checksums.
   *
   * @param fs the file system of {@code uri}
   * @param cache where verified copies of remote artifacts are kept
   * @throws IOException when the artifact cannot be read or copied
   */
  public static java.nio.file.Path fetch(
      String model, String uri, String sha256, FileSystem fs, java.nio.file.Path cache)
      throws IOException {
    Path p = new Path(uri);
    if (p.toUri().getScheme() == null || p.toUri().getScheme().equals("file")) {
      java.nio.file.Path local = java.nio.file.Path.of(p.toUri().getPath());
      check(model, uri, sha256, hash(Files.newInputStream(local)));
      return local;
    }
    java.nio.file.Path local = cache.resolve(sha256).resolve(p.getName());
    if (Files.isRegularFile(local) && hash(Files.newInputStream(local)).equals(sha256)) {
      return local;
    }
    Files.createDirectories(local.getParent());
    java.nio.file.Path tmp = Files.createTempFile(local.getParent(), ".download-", "");
    try (InputStream in = fs.open(p)) {
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      check(model, uri, sha256, hash(Files.newInputStream(tmp)));
      Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return local;
  }

  private static void check(String model, String uri, String expected, String actual) {
    if (!actual.equals(expected)) {
      throw new CatalogException(
          String.format(
              "The artifact of model %s at %s has sha256 %s, but the catalog recorded %s when it was registered: the"
                  + " file was changed or corrupted. Do not use it; register the model again from a good copy.",
              model, uri, actual, expected),
          null);
    }
  }

  /** The lower-case hex sha256 of {@code stream}'s bytes; closes it. */
  static String hash(InputStream stream) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = stream) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }
}
