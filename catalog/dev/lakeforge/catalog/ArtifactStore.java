package dev.lakeforge.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where model artifacts live: {@code <root>/<model>/<version>/<file>} on any Hadoop file system (a
 * local folder or {@code s3a://bucket/prefix}). Artifacts are staged under a unique name first and
 * moved into their version folder only when the catalog assigns the version, so a failed
 * registration leaves no version folder behind. A staging folder's name records its owner process,
 * so the staging folders of a killed registration are removed by a later one.
 */
final class ArtifactStore {
  private final Path root;
  private final FileSystem fs;
  private final java.nio.file.Path cache;

  /** A staged copy: its folder, file name, checksum and size. */
  record Staged(Path dir, String fileName, String sha256, long size) {}

  /**
   * @param root the store's root URI or path
   * @param conf Hadoop settings (S3A endpoint, credentials provider…)
   * @param cache local folder for verified copies of remote artifacts
   */
  ArtifactStore(String root, Configuration conf, java.nio.file.Path cache) {
    try {
      Path p = new Path(root);
      FileSystem f = p.getFileSystem(conf);
      // No .crc side files next to local artifacts: the catalog's sha256 is the checksum.
      this.fs = f instanceof LocalFileSystem local ? local.getRaw() : f;
      this.root = fs.makeQualified(p);
      this.cache = cache;
    } catch (IOException e) {
      throw new CatalogException(
          String.format("Cannot open the model store %s: %s", root, e.getMessage()), e);
    }
  }

  String root() {
    return root.toString();
  }

  /** How long a staging folder of another host (whose owner cannot be checked) may live. */
  static final Duration STAGING_MAX_AGE = Duration.ofHours(24);

  /**
   * {@code .staging-<created millis>-<owner pid>-<owner start millis or x>-<uuid>-<owner host>}:
   * enough to tell, at a later registration, whether the registration that staged it is gone.
   */
  private static final Pattern STAGING =
      Pattern.compile(
          "\\.staging-(\\d+)-(\\d+)-(\\d+|x)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-(.+)");

  /** The staging folder name for a registration by {@code owner}, now. */
  static String stagingName(ProcessOwner owner, Instant created) {
    return String.format(
        ".staging-%d-%d-%s-%s-%s",
        created.toEpochMilli(),
        owner.pid(),
        owner.started().map(i -> Long.toString(i.toEpochMilli())).orElse("x"),
        UUID.randomUUID(),
        owner.host());
  }

  /**
   * Removes the staging folders that registrations killed mid-copy left behind, in every model's
   * folder: those whose owner ran on this host and is gone, and those older than {@link
   * #STAGING_MAX_AGE} (by the time in their name; for folders of older Lakeforge versions, by their
   * modification time). Returns what it removed. Failures to remove are left for the next call.
   */
  List<Path> removeStaleStaging(Instant now) throws IOException {
    FileStatus[] found = fs.globStatus(new Path(root, "*/.staging-*"));
    List<Path> removed = new ArrayList<>();
    for (FileStatus f : found == null ? new FileStatus[0] : found) {
      if (isStale(f, now) && fs.delete(f.getPath(), true)) {
        removed.add(f.getPath());
      }
    }
    return removed;
  }

  private static boolean isStale(FileStatus f, Instant now) {
    Matcher m = STAGING.matcher(f.getPath().getName());
    if (!m.matches()) {
      long modified = f.getModificationTime();
      return modified > 0 && Instant.ofEpochMilli(modified).plus(STAGING_MAX_AGE).isBefore(now);
    }
    if (Instant.ofEpochMilli(Long.parseLong(m.group(1))).plus(STAGING_MAX_AGE).isBefore(now)) {
      return true;
    }
    Optional<Instant> started =
        m.group(3).equals("x")
            ? Optional.empty()
            : Optional.of(Instant.ofEpochMilli(Long.parseLong(m.group(3))));
    return new ProcessOwner(m.group(4), Long.parseLong(m.group(2)), started).goneOnThisHost();
  }

  /** Copies {@code source} into a staging folder of {@code model}, hashing it on the way. */
  Staged stage(String model, java.nio.file.Path source) throws IOException {
    Path dir = new Path(new Path(root, model), stagingName(ProcessOwner.current(), Instant.now()));
    String name = source.getFileName().toString();
    MessageDigest md = sha256();
    long size = 0;
    fs.mkdirs(dir);
    try (InputStream in = new DigestInputStream(Files.newInputStream(source), md);
        OutputStream out = fs.create(new Path(dir, name), false)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        out.write(buf, 0, n);
        size += n;
      }
    }
    return new Staged(dir, name, HexFormat.of().formatHex(md.digest()), size);
  }

  /**
   * Moves a staged artifact to its version folder (replacing a leftover of a crashed registration);
   * returns its URI.
   */
  String promote(Staged staged, String model, int version) throws IOException {
    Path target = new Path(new Path(root, model), Integer.toString(version));
    if (fs.exists(target)) {
      fs.delete(target, true);
    }
    if (!fs.rename(staged.dir(), target)) {
      throw new IOException("could not move " + staged.dir() + " to " + target);
    }
    return new Path(target, staged.fileName()).toString();
  }

  /** Removes a folder or file, best effort (used to undo a registration that did not commit). */
  void deleteQuietly(Path p) {
    try {
      fs.delete(p, true);
    } catch (IOException ignored) {
      // a leftover is replaced by the next registration of that version
    }
  }

  /** The parent folder of an artifact URI. */
  static Path folderOf(String uri) {
    return new Path(uri).getParent();
  }

  /**
   * A local file holding the artifact at {@code uri}, checked against {@code sha256}: the artifact
   * itself when the store is local, else a verified copy in the cache. A mismatch throws, naming
   * both checksums.
   */
  java.nio.file.Path fetchVerified(String ref, String uri, String sha256) {
    Path p = new Path(uri);
    try {
      if (p.toUri().getScheme() == null || p.toUri().getScheme().equals("file")) {
        java.nio.file.Path local = java.nio.file.Path.of(p.toUri().getPath());
        check(ref, uri, sha256, hash(Files.newInputStream(local)));
        return local;
      }
      java.nio.file.Path local = cache.resolve(sha256).resolve(p.getName());
      if (!Files.isRegularFile(local) || !hash(Files.newInputStream(local)).equals(sha256)) {
        Files.createDirectories(local.getParent());
        java.nio.file.Path tmp = Files.createTempFile(local.getParent(), ".download-", "");
        try (InputStream in = fs.open(p)) {
          Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          check(ref, uri, sha256, hash(Files.newInputStream(tmp)));
          Files.move(
              tmp,
              local,
              java.nio.file.StandardCopyOption.REPLACE_EXISTING,
              java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      return local;
    } catch (IOException e) {
      throw new CatalogException(
          String.format("Cannot read the artifact of model %s at %s: %s", ref, uri, e.getMessage()),
          e);
    }
  }

  private static void check(String ref, String uri, String expected, String actual) {
    if (!actual.equals(expected)) {
      throw new CatalogException(
          String.format(
              "The artifact of model %s at %s has sha256 %s, but the catalog recorded %s when it was registered: the"
                  + " file was changed or corrupted. Do not use it; register the model again from a good copy.",
              ref, uri, actual, expected),
          null);
    }
  }

  private static String hash(InputStream stream) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = stream) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }
}
