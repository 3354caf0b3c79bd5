package dev.lakeforge.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where model artifacts live, on any Hadoop file system (a local folder or {@code
 * s3a://bucket/prefix}). Each registration uploads its artifact once, hashing it on the way, into a
 * folder of its own whose name does not depend on the version number: {@code
 * <root>/<model>/upload-<created millis>-<owner pid>-<owner start millis or x>-<uuid>-<owner
 * host>/<file>}, or several files and their {@link VersionManifest} for a multi-file version.
 * Nothing is moved afterwards (on an object store a rename copies every byte), so the catalog
 * transaction that takes the version number only records where the artifact already is.
 *
 * <p>An upload folder that no version row names is garbage, never a half-registered version: the
 * registration that made it removes it when its transaction fails, and a later registration removes
 * those of killed registrations ({@link #removeAbandonedUploads}). Artifacts registered by earlier
 * Lakeforge versions stay in {@code <root>/<model>/<version>/}.
 */
final class ArtifactStore {
  private final Path root;
  private final FileSystem fs;
  private final java.nio.file.Path cache;

  /**
   * An uploaded version: its folder, the artifact the catalog records, its checksum and size.
   *
   * @param dir the upload folder, which holds only this version's files
   * @param fileName the recorded artifact's file name: the model file of a single-file version,
   *     else the {@link VersionManifest}
   * @param sha256 lower-case hex sha256 of the recorded artifact's bytes
   * @param size the size in bytes of the version's files (the manifest not counted)
   * @param files the version's files
   */
  record Upload(Path dir, String fileName, String sha256, long size, List<ModelFile> files) {
    Upload {
      files = List.copyOf(files);
    }

    /** The URI the catalog records. */
    String uri() {
      return new Path(dir, fileName).toString();
    }
  }

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

  /**
   * How long an upload folder of another host (whose owner cannot be checked) may stay unrecorded.
   */
  static final Duration UPLOAD_MAX_AGE = Duration.ofHours(24);

  /**
   * {@code upload-<created millis>-<owner pid>-<owner start millis or x>-<uuid>-<owner host>}, or
   * the same after {@code .staging-} (the staging folders of Lakeforge versions that moved the
   * artifact into a version folder): enough to tell, at a later registration, whether the
   * registration that made it is gone.
   */
  private static final Pattern UPLOAD =
      Pattern.compile(
          "(?:upload|\\.staging)-(\\d+)-(\\d+)-(\\d+|x)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-(.+)");

  /** The upload folder name for a registration by {@code owner}, now. */
  static String uploadName(ProcessOwner owner, Instant created) {
    return String.format(
        "upload-%d-%d-%s-%s-%s",
        created.toEpochMilli(),
        owner.pid(),
        owner.started().map(i -> Long.toString(i.toEpochMilli())).orElse("x"),
        UUID.randomUUID(),
        owner.host());
  }

  /**
   * Removes the upload folders that killed registrations left behind, in every model's folder:
   * those whose owner ran on this host and is gone, and those older than {@link #UPLOAD_MAX_AGE}
   * (by the time in their name; for the staging folders of older Lakeforge versions without one, by
   * their modification time) — unless {@code recorded} says the catalog names an artifact in them
   * (a committed registration whose process has since ended). Returns what it removed. Failures to
   * remove are left for the next call.
   *
   * @param recorded whether a version row's artifact lies in the given upload folder; asked only
   *     about folders whose owner is gone or that are old
   */
  List<Path> removeAbandonedUploads(Instant now, Predicate<Path> recorded) throws IOException {
    List<Path> removed = new ArrayList<>();
    for (String glob : List.of("*/upload-*", "*/.staging-*")) {
      FileStatus[] found = fs.globStatus(new Path(root, glob));
      for (FileStatus f : found == null ? new FileStatus[0] : found) {
        if (isAbandoned(f, now) && !recorded.test(f.getPath()) && fs.delete(f.getPath(), true)) {
          removed.add(f.getPath());
        }
      }
    }
    return removed;
  }

  private static boolean isAbandoned(FileStatus f, Instant now) {
    Matcher m = UPLOAD.matcher(f.getPath().getName());
    if (!m.matches()) {
      long modified = f.getModificationTime();
      return f.getPath().getName().startsWith(".staging-")
          && modified > 0
          && Instant.ofEpochMilli(modified).plus(UPLOAD_MAX_AGE).isBefore(now);
    }
    if (Instant.ofEpochMilli(Long.parseLong(m.group(1))).plus(UPLOAD_MAX_AGE).isBefore(now)) {
      return true;
    }
    Optional<Instant> started =
        m.group(3).equals("x")
            ? Optional.empty()
            : Optional.of(Instant.ofEpochMilli(Long.parseLong(m.group(3))));
    return new ProcessOwner(m.group(4), Long.parseLong(m.group(2)), started).goneOnThisHost();
  }

  /**
   * Uploads {@code sources} into a new upload folder of {@code model}, hashing each on the way;
   * with more than one file, then writes their {@link VersionManifest} there, which marks {@code
   * modelFile} as the model. On failure the folder is removed (what cannot be removed is left to
   * {@link #removeAbandonedUploads}, and reported as suppressed).
   */
  Upload upload(String model, List<java.nio.file.Path> sources, String modelFile)
      throws IOException {
    Path dir = new Path(new Path(root, model), uploadName(ProcessOwner.current(), Instant.now()));
    try {
      fs.mkdirs(dir);
      List<ModelFile> files = new ArrayList<>();
      long total = 0;
      for (java.nio.file.Path source : sources) {
        String name = source.getFileName().toString();
        MessageDigest md = VerifiedArtifacts.sha256();
        long size = 0;
        try (InputStream in = new DigestInputStream(Files.newInputStream(source), md);
            OutputStream out = fs.create(new Path(dir, name), false)) {
          byte[] buf = new byte[1 << 16];
          for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
            size += n;
          }
        }
        files.add(
            new ModelFile(
                name, HexFormat.of().formatHex(md.digest()), size, name.equals(modelFile)));
        total += size;
      }
      if (files.size() == 1) {
        ModelFile only = files.get(0);
        return new Upload(dir, only.name(), only.sha256(), only.size(), files);
      }
      byte[] manifest =
          new VersionManifest(files).toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      try (OutputStream out = fs.create(new Path(dir, VersionManifest.NAME), false)) {
        out.write(manifest);
      }
      return new Upload(
          dir,
          VersionManifest.NAME,
          HexFormat.of().formatHex(VerifiedArtifacts.sha256().digest(manifest)),
          total,
          files);
    } catch (IOException | RuntimeException e) {
      deleteAfterFailure(dir, e);
      throw e;
    }
  }

  /**
   * Removes {@code dir} after {@code failure}; a failure to remove it is attached to {@code
   * failure}, never thrown in its place.
   */
  void deleteAfterFailure(Path dir, Throwable failure) {
    try {
      fs.delete(dir, true);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(
          new IOException(
              "Could not remove the upload folder "
                  + dir
                  + "; a later registration removes it once this process has ended",
              e));
    }
  }

  /**
   * A local file holding the artifact at {@code uri}, checked against {@code sha256}: the artifact
   * itself when the store is local, else a verified copy in the cache. A mismatch throws, naming
   * both checksums.
   */
  java.nio.file.Path fetchVerified(String ref, String uri, String sha256) {
    try {
      return VerifiedArtifacts.fetch(ref, uri, sha256, fs, cache);
    } catch (IOException e) {
      throw new CatalogException(
          String.format("Cannot read the artifact of model %s at %s: %s", ref, uri, e.getMessage()),
          e);
    }
  }

  /** Every file of the version recorded as {@code uri} and {@code sha256}, each verified. */
  VerifiedArtifacts.LocalFiles fetchAllVerified(String ref, String uri, String sha256) {
    try {
      return VerifiedArtifacts.fetchAll(ref, uri, sha256, fs, cache);
    } catch (IOException e) {
      throw new CatalogException(
          String.format("Cannot read the files of model %s at %s: %s", ref, uri, e.getMessage()),
          e);
    }
  }
}
