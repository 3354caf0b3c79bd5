package dev.lakeforge.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A model version's files as local files, checked against the sha256 the catalog recorded: the
 * files themselves when the store is local, else copies verified into a cache folder (once per
 * checksum). A multi-file version's artifact is its {@link VersionManifest}: the manifest is
 * checked against the catalog, then each file against the manifest, so the whole version is
 * verified together. Needs no catalog connection, so the registry's driver and the executors that
 * score with the model share it.
 */
public final class VerifiedArtifacts {
  private VerifiedArtifacts() {}

  /**
   * The verified local files of a model version.
   *
   * @param model the file the engine loads
   * @param files every file of the version by name, the model included, in registration order
   */
  public record LocalFiles(java.nio.file.Path model, Map<String, java.nio.file.Path> files) {
    public LocalFiles {
      Objects.requireNonNull(model, "model is null");
      files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
    }

    /** The file named {@code name}, if the version has one. */
    public Optional<java.nio.file.Path> file(String name) {
      return Optional.ofNullable(files.get(name));
    }
  }

  /**
   * The local, verified file of the artifact at {@code uri} of model {@code model}; a checksum
   * mismatch is a {@link CatalogException} naming the model, the file and both checksums. For a
   * multi-file version this is its manifest; see {@link #fetchAll}.
   *
   * @param fs the file system of {@code uri}
   * @param cache where verified copies of remote artifacts are kept
   * @throws IOException when the artifact cannot be read or copied
   */
  public static java.nio.file.Path fetch(
      String model, String uri, String sha256, FileSystem fs, java.nio.file.Path cache)
      throws IOException {
    return fetchInto(model, uri, sha256, fs, cache.resolve(sha256));
  }

  /**
   * Every file of the version whose recorded artifact is {@code uri} with checksum {@code sha256},
   * each verified: a single-file version's one file, or each file a manifest lists (a remote
   * version's files are copied together into {@code <cache>/<sha256 of the manifest>/}). A file
   * that does not match is a {@link CatalogException} naming the model, the file and both
   * checksums.
   *
   * @throws IOException when a file cannot be read or copied
   */
  public static LocalFiles fetchAll(
      String model, String uri, String sha256, FileSystem fs, java.nio.file.Path cache)
      throws IOException {
    java.nio.file.Path first = fetch(model, uri, sha256, fs, cache);
    if (!VersionManifest.isManifest(uri)) {
      return new LocalFiles(first, Map.of(first.getFileName().toString(), first));
    }
    VersionManifest manifest =
        VersionManifest.parse(Files.readString(first), "the file list of model " + model);
    Path folder = new Path(uri).getParent();
    Map<String, java.nio.file.Path> files = new LinkedHashMap<>();
    for (ModelFile f : manifest.files()) {
      files.put(
          f.name(),
          fetchInto(
              model, new Path(folder, f.name()).toString(), f.sha256(), fs, cache.resolve(sha256)));
    }
    return new LocalFiles(files.get(manifest.model().name()), files);
  }

  /**
   * The verified local copy of {@code uri}: the file itself when local, else a copy in {@code
   * into}.
   */
  private static java.nio.file.Path fetchInto(
      String model, String uri, String sha256, FileSystem fs, java.nio.file.Path into)
      throws IOException {
    Path p = new Path(uri);
    if (p.toUri().getScheme() == null || p.toUri().getScheme().equals("file")) {
      java.nio.file.Path local = java.nio.file.Path.of(p.toUri().getPath());
      check(model, uri, sha256, hash(Files.newInputStream(local)));
      return local;
    }
    java.nio.file.Path local = into.resolve(p.getName());
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
