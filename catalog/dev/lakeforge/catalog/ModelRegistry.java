package dev.lakeforge.catalog;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.YamlSpecReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Registered models, their immutable versions and their aliases. A version is one file or several
 * (a model and its tokenizer...). Registering uploads the files into the model store (see {@link
 * ArtifactStore}), hashing them on the way (several files get a {@link VersionManifest} listing
 * their checksums, and the catalog records the manifest's), before it touches the catalog's write
 * lock; then one short transaction takes the next version number and records the version row and
 * its audit entry, so concurrent registrations get distinct, gap-free numbers and no catalog lock
 * is held while bytes move. If that transaction fails, the uploaded files are removed (unless a
 * version row names them after all: a commit whose acknowledgement was lost), so nothing
 * half-registered is ever visible. Loading a version checks every file against the recorded sha256
 * (through the manifest). Each registration first removes the uploads that killed registrations
 * left behind (their process on this host is gone, or they are older than 24 hours, and no version
 * names them).
 */
public final class ModelRegistry {
  private static final Pattern TAG_KEY = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private final CatalogDatabase db;
  private final ArtifactStore store;

  /**
   * @param db the catalog database
   * @param store the model store: a local folder or {@code s3a://bucket/prefix}
   * @param hadoop Hadoop settings for the store's file system
   * @param cache local folder for verified copies of remote artifacts
   */
  public ModelRegistry(
      CatalogDatabase db, String store, org.apache.hadoop.conf.Configuration hadoop, Path cache) {
    this.db = Objects.requireNonNull(db, "db is null");
    this.store = new ArtifactStore(Objects.requireNonNull(store, "store is null"), hadoop, cache);
  }

  /**
   * The registry of {@code platform}: its catalog database {@code db}, its model store ({@code
   * model-store}, a local folder or {@code s3a://}), and verified copies of remote artifacts cached
   * under {@code <home>/cache/models}. Every registry on a platform is made here, so the CLI, the
   * scorer and the quickstart share one store and one cache.
   *
   * @param db the platform's catalog database
   * @param platform the resolved platform
   * @param hadoop Hadoop settings for the store's file system (a session's, on the driver)
   */
  public static ModelRegistry of(
      CatalogDatabase db, Platform platform, org.apache.hadoop.conf.Configuration hadoop) {
    return new ModelRegistry(
        db, platform.modelStore(), hadoop, platform.home().resolve("cache").resolve("models"));
  }

  /** A registry whose store is the local folder {@code store}. */
  public ModelRegistry(CatalogDatabase db, Path store) {
    this(
        db,
        store.toAbsolutePath().toString(),
        new org.apache.hadoop.conf.Configuration(),
        store.resolve(".cache"));
  }

  /**
   * What to register: one file, or several that make one version (a model and its tokenizer,
   * config...), each checksummed and verified together at load.
   *
   * @param name the model (created on its first version)
   * @param files the files to copy in; a folder stands for the regular files in it (hidden ones
   *     skipped; a subfolder is an error). File names must be distinct.
   * @param modelFile the name of the file the engine loads, when there are several files; empty to
   *     infer it: the only file, else the only {@code .onnx} (flavor onnx) or {@code .pt} (flavor
   *     torchscript) file
   * @param flavor how it runs
   * @param signature inputs and outputs: read from the model for onnx (a given one may pin its
   *     dynamic dimensions); required for torchscript, whose files do not record them
   * @param description free text for this version
   * @param tags key/value labels
   */
  public record Registration(
      String name,
      List<Path> files,
      Optional<String> modelFile,
      ModelFlavor flavor,
      Optional<ModelSignature> signature,
      Optional<String> description,
      Map<String, String> tags) {
    public Registration {
      ModelRef.checkName("model name", Objects.requireNonNull(name, "name is null"));
      Objects.requireNonNull(files, "files is null");
      Objects.requireNonNull(modelFile, "modelFile is null");
      Objects.requireNonNull(flavor, "flavor is null");
      Objects.requireNonNull(signature, "signature is null");
      Objects.requireNonNull(description, "description is null");
      tags = Map.copyOf(new TreeMap<>(tags));
      for (String k : tags.keySet()) {
        if (!TAG_KEY.matcher(k).matches()) {
          throw new SpecException(
              String.format(
                  "Tag key '%s' is invalid: use 1-64 of letters, digits, '_', '.', '-'.", k));
        }
      }
      files = expand(name, files);
      modelFile = Optional.of(modelFile(name, files, modelFile, flavor));
    }

    /** A single-file version: {@code artifact} is the model. */
    public Registration(
        String name,
        Path artifact,
        ModelFlavor flavor,
        Optional<ModelSignature> signature,
        Optional<String> description,
        Map<String, String> tags) {
      this(
          name,
          List.of(Objects.requireNonNull(artifact, "artifact is null")),
          Optional.empty(),
          flavor,
          signature,
          description,
          tags);
    }

    /** The file the engine loads. */
    public Path artifact() {
      String model = modelFile.orElseThrow();
      return files.stream()
          .filter(f -> f.getFileName().toString().equals(model))
          .findFirst()
          .orElseThrow();
    }

    /** The files, folders replaced by the regular files in them; each checked. */
    private static List<Path> expand(String name, List<Path> given) {
      if (given.isEmpty()) {
        throw new SpecException(
            String.format("Cannot register model %s: no file given. Use --file.", name));
      }
      List<Path> out = new ArrayList<>();
      for (Path p : given) {
        if (Files.isDirectory(p)) {
          List<Path> inside;
          try (var s = Files.list(p)) {
            inside = s.filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList();
          } catch (IOException e) {
            throw new SpecException(
                String.format(
                    "Cannot register model %s: cannot list folder %s: %s", name, p, e.getMessage()),
                e);
          }
          for (Path f : inside) {
            if (Files.isDirectory(f)) {
              throw new SpecException(
                  String.format(
                      "Cannot register model %s: folder %s holds the subfolder %s; a version holds plain"
                          + " files. Give the files with --file instead.",
                      name, p, f.getFileName()));
            }
          }
          if (inside.isEmpty()) {
            throw new SpecException(
                String.format("Cannot register model %s: folder %s has no files.", name, p));
          }
          out.addAll(inside);
        } else {
          out.add(p);
        }
      }
      java.util.Set<String> names = new java.util.HashSet<>();
      for (Path f : out) {
        if (!Files.isRegularFile(f)) {
          throw new SpecException(
              String.format("Cannot register model %s: %s is not a file. Check --file.", name, f));
        }
        if (!Files.isReadable(f)) {
          throw new SpecException(
              String.format(
                  "Cannot register model %s: %s is not readable. Check its permissions.", name, f));
        }
        String file = f.getFileName().toString();
        if (file.equals(VersionManifest.NAME)) {
          throw new SpecException(
              String.format(
                  "Cannot register model %s: the file name %s is reserved for the version's file list."
                      + " Rename %s.",
                  name, file, f));
        }
        if (!names.add(file)) {
          throw new SpecException(
              String.format(
                  "Cannot register model %s: two files are named %s; the files of a version need distinct"
                      + " names. Rename one.",
                  name, file));
        }
      }
      return List.copyOf(out);
    }

    /** The name of the model file among {@code files}: given, the only file, or inferred. */
    private static String modelFile(
        String name, List<Path> files, Optional<String> given, ModelFlavor flavor) {
      List<String> names = files.stream().map(f -> f.getFileName().toString()).toList();
      if (given.isPresent()) {
        if (!names.contains(given.get())) {
          throw new SpecException(
              String.format(
                  "Cannot register model %s: the model file %s is not among the files %s. Name one of"
                      + " them with --model-file.",
                  name, given.get(), names));
        }
        return given.get();
      }
      if (names.size() == 1) {
        return names.get(0);
      }
      String ext = flavor == ModelFlavor.ONNX ? ".onnx" : ".pt";
      List<String> found = names.stream().filter(n -> n.endsWith(ext)).toList();
      if (found.size() != 1) {
        throw new SpecException(
            String.format(
                "Cannot register model %s: %s of the files %s end with %s, so which one is the %s model"
                    + " is not clear. Name it with --model-file.",
                name, found.isEmpty() ? "none" : found.size(), names, ext, flavor));
      }
      return found.get(0);
    }
  }

  /**
   * Registers the next version of {@code r.name()}; see the class comment for the guarantees. The
   * access check, the signature (read from an ONNX model; a TorchScript registration without one is
   * refused), the upload and its sha256 all happen before the one catalog transaction, which only
   * records them, so a refused registration stores nothing.
   */
  public ModelVersion register(Registration r, Principal by) {
    new AccessControl(db).require(by, Privilege.CREATE_VERSION, AccessControl.model(r.name()));
    for (Path f : r.files()) {
      if (f.toFile().length() == 0) {
        throw new SpecException(
            String.format("Cannot register model %s: %s is empty.", r.name(), f));
      }
    }
    Optional<ModelSignature> signature = signature(r, r.artifact());
    ArtifactStore.Upload upload;
    try {
      store.removeAbandonedUploads(Instant.now(), recordedIn());
      upload = store.upload(r.name(), r.files(), r.modelFile().orElseThrow());
    } catch (IOException e) {
      throw new CatalogException(
          String.format(
              "Cannot upload %s into the model store %s: %s. Check that the store is reachable and"
                  + " writable, then register again.",
              r.files().size() == 1 ? r.artifact() : r.files(), store.root(), e.getMessage()),
          e);
    }
    try {
      return record(r, by, signature, upload);
    } catch (RuntimeException e) {
      Optional<ModelVersion> landed;
      try {
        landed = recordedVersion(r.name(), upload.uri());
      } catch (RuntimeException unknown) {
        // Whether the commit landed is unknown, so the upload stays: a later registration removes
        // it, once this process has ended, if no version names it.
        e.addSuppressed(unknown);
        throw e;
      }
      if (landed.isPresent()) {
        return landed.get(); // the commit landed; only its acknowledgement was lost
      }
      store.deleteAfterFailure(upload.dir(), e);
      throw e;
    }
  }

  /** The version whose artifact is {@code uri}, if one was recorded (a plain read). */
  private Optional<ModelVersion> recordedVersion(String model, String uri) {
    return db.read(
        "look for the version of " + uri,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT version FROM model_versions WHERE model = ? AND artifact_uri = ?")) {
            ps.setString(1, model);
            ps.setString(2, uri);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next()
                  ? select(c, model, rs.getInt(1)).stream().findFirst()
                  : Optional.<ModelVersion>empty();
            }
          }
        });
  }

  /** The short transaction of a registration: version number, row and audit entry, nothing else. */
  private ModelVersion record(
      Registration r, Principal by, Optional<ModelSignature> signature, ArtifactStore.Upload up) {
    Instant now = Instant.now();
    return db.inTransaction(
        "register model " + r.name(),
        c -> {
          int version = nextVersion(c, r.name(), by, now);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO model_versions (model, version, flavor, artifact_uri, sha256, size_bytes, signature,"
                      + " description, tags, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, r.name());
            ps.setInt(2, version);
            ps.setString(3, r.flavor().label());
            ps.setString(4, up.uri());
            ps.setString(5, up.sha256());
            ps.setLong(6, up.size());
            ps.setString(7, signature.map(YamlSpecReader::toJson).orElse(null));
            ps.setString(8, r.description().orElse(null));
            ps.setString(9, YamlSpecReader.toJson(r.tags()));
            ps.setString(10, by.name());
            ps.setString(11, now.toString());
            ps.executeUpdate();
          }
          AuditLog.append(
              c,
              by,
              "model.register",
              "model:" + r.name() + "/" + version,
              AuditLog.DONE,
              "sha256="
                  + up.sha256()
                  + " size="
                  + up.size()
                  + " flavor="
                  + r.flavor().label()
                  + (up.files().size() == 1
                      ? ""
                      : " files="
                          + up.files().stream().map(ModelFile::name).toList()
                          + " model="
                          + r.modelFile().orElseThrow()));
          return new ModelVersion(
              r.name(),
              version,
              r.flavor(),
              up.uri(),
              up.sha256(),
              up.size(),
              signature,
              r.description(),
              r.tags(),
              by.name(),
              now);
        });
  }

  /**
   * Whether a version row names an artifact in an upload folder ({@code <store>/<model>/<upload>}):
   * read from the catalog once per model asked about, with a plain read. Upload folder names are
   * unique, so the model and the folder's name decide it.
   */
  private java.util.function.Predicate<org.apache.hadoop.fs.Path> recordedIn() {
    Map<String, java.util.Set<String>> byModel = new java.util.HashMap<>();
    return folder -> {
      String model = folder.getParent().getName();
      java.util.Set<String> folders =
          byModel.computeIfAbsent(
              model,
              m ->
                  db.read(
                      "read the artifacts of " + m,
                      c -> {
                        java.util.Set<String> out = new java.util.HashSet<>();
                        try (PreparedStatement ps =
                            c.prepareStatement(
                                "SELECT artifact_uri FROM model_versions WHERE model = ?")) {
                          ps.setString(1, m);
                          try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                              out.add(
                                  new org.apache.hadoop.fs.Path(rs.getString(1))
                                      .getParent()
                                      .getName());
                            }
                          }
                        }
                        return out;
                      }));
      return folders.contains(folder.getName());
    };
  }

  /**
   * The signature to record: for ONNX, read from the model (a given one must agree with it on names
   * and types, and may pin dynamic dimensions); for TorchScript, which records neither, the given
   * one, required.
   */
  private static Optional<ModelSignature> signature(Registration r, Path artifact) {
    if (r.flavor() == ModelFlavor.TORCHSCRIPT) {
      if (r.signature().isEmpty()) {
        throw new SpecException(
            String.format(
                "Cannot register model %s: it is a TorchScript model, and a TorchScript file does not"
                    + " record the names, types and shapes of its inputs and outputs, so the version"
                    + " needs a signature to be scored. Pass --signature FILE (YAML or JSON, e.g."
                    + " inputs: [{name: features, type: float32, shape: [-1, 4]}] and outputs:"
                    + " [{name: probs, type: float32, shape: [-1, 3]}], in the module's order) and"
                    + " register again.",
                r.name()));
      }
      return r.signature();
    }
    Optional<ModelSignature> fromModel = OnnxSignatures.read(r.name(), artifact);
    if (r.signature().isEmpty() || fromModel.isEmpty()) {
      return r.signature().or(() -> fromModel);
    }
    String given = describe(r.signature().get());
    String actual = describe(fromModel.get());
    if (!given.equals(actual)) {
      throw new SpecException(
          String.format(
              "Cannot register model %s: the --signature does not match the ONNX model. The model has %s; the"
                  + " signature says %s. Fix the signature file or leave it out to use the model's own.",
              r.name(), actual, given));
    }
    return r.signature();
  }

  private static String describe(ModelSignature s) {
    java.util.function.Function<List<ModelSignature.Tensor>, String> names =
        ts -> ts.stream().map(t -> t.name() + ":" + t.type()).sorted().toList().toString();
    return "inputs " + names.apply(s.inputs()) + ", outputs " + names.apply(s.outputs());
  }

  /** Creates the model row if needed, locks it, and returns its next version number. */
  private int nextVersion(Connection c, String name, Principal by, Instant now)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO models (name, owner, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
      ps.setString(1, name);
      ps.setString(2, by.name());
      ps.setString(3, now.toString());
      ps.executeUpdate();
    }
    if (db.vendor() == CatalogDatabase.Vendor.POSTGRESQL) {
      // SQLite's IMMEDIATE transactions already serialize writers; PostgreSQL locks the model's
      // row.
      try (PreparedStatement ps =
          c.prepareStatement("SELECT name FROM models WHERE name = ? FOR UPDATE")) {
        ps.setString(1, name);
        ps.executeQuery().close();
      }
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /**
   * Points {@code alias} of {@code model} at {@code version} (creating or moving it), audited with
   * the old target.
   */
  public void alias(String model, String alias, int version, Principal by) {
    ModelRef target = ModelRef.of(model, version);
    ModelRef.checkName("alias", alias);
    new AccessControl(db).require(by, Privilege.PROMOTE, AccessControl.model(model));
    db.inTransaction(
        "move alias " + model + "@" + alias,
        c -> {
          if (find(c, target).isEmpty()) {
            throw new SpecException(
                String.format(
                    "Cannot point %s@%s at version %d: %s has no version %d (versions: %s).",
                    model, alias, version, model, version, versionNumbers(c, model)));
          }
          Optional<Integer> before = aliasTarget(c, model, alias);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO model_aliases (model, alias, version, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
                      + " ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version,"
                      + " updated_by = excluded.updated_by, updated_at = excluded.updated_at")) {
            ps.setString(1, model);
            ps.setString(2, alias);
            ps.setInt(3, version);
            ps.setString(4, by.name());
            ps.setString(5, Instant.now().toString());
            ps.executeUpdate();
          }
          AuditLog.append(
              c,
              by,
              "model.alias",
              "model:" + model + "@" + alias,
              AuditLog.DONE,
              before
                  .map(v -> "version " + v + " -> " + version)
                  .orElse("new -> version " + version));
          return null;
        });
  }

  /** {@link #resolve(ModelRef)} for {@code who}, who needs EXECUTE on the model. */
  public ModelVersion resolve(ModelRef ref, Principal who) {
    new AccessControl(db).require(who, Privilege.EXECUTE, AccessControl.model(ref.name()));
    return resolve(ref);
  }

  /** {@link #open(ModelRef)} for {@code who}, who needs EXECUTE on the model. */
  public Path open(ModelRef ref, Principal who) {
    new AccessControl(db).require(who, Privilege.EXECUTE, AccessControl.model(ref.name()));
    return open(ref);
  }

  /** {@link #versions(String)} for {@code who}, who needs EXECUTE on the model. */
  public List<ModelVersion> versions(String model, Principal who) {
    new AccessControl(db).require(who, Privilege.EXECUTE, AccessControl.model(model));
    return versions(model);
  }

  /**
   * The version {@code ref} names now; an unknown model, version or alias is an error listing what
   * exists.
   */
  ModelVersion resolve(ModelRef ref) {
    return db.read(
        "resolve model " + ref,
        c -> {
          ModelRef fixed = ref;
          if (ref.alias().isPresent()) {
            Optional<Integer> v = aliasTarget(c, ref.name(), ref.alias().get());
            if (v.isEmpty()) {
              requireModel(c, ref.name());
              throw new SpecException(
                  String.format(
                      "Model %s has no alias '%s' (aliases: %s). Set it with: lakeforge models alias %s %s <version>.",
                      ref.name(),
                      ref.alias().get(),
                      aliases(c, ref.name()).keySet(),
                      ref.name(),
                      ref.alias().get()));
            }
            fixed = ModelRef.of(ref.name(), v.get());
          }
          Optional<ModelVersion> found = find(c, fixed);
          if (found.isEmpty()) {
            requireModel(c, ref.name());
            throw new SpecException(
                String.format(
                    "Model %s has no version %d (versions: %s).",
                    ref.name(), fixed.version().orElseThrow(), versionNumbers(c, ref.name())));
          }
          return found.get();
        });
  }

  /**
   * Resolves {@code ref} and returns its model file after checking the version's files against the
   * recorded sha256: a changed or corrupted file is an error, never a silent load.
   */
  Path open(ModelRef ref) {
    return openFiles(ref).model();
  }

  /** {@link #openFiles(ModelRef)} for {@code who}, who needs EXECUTE on the model. */
  public VerifiedArtifacts.LocalFiles openFiles(ModelRef ref, Principal who) {
    new AccessControl(db).require(who, Privilege.EXECUTE, AccessControl.model(ref.name()));
    return openFiles(ref);
  }

  /**
   * Resolves {@code ref} and returns all of its files (the model and the files registered with it),
   * each checked against its recorded sha256.
   */
  VerifiedArtifacts.LocalFiles openFiles(ModelRef ref) {
    ModelVersion v = resolve(ref);
    return store.fetchAllVerified(v.ref().toString(), v.artifactUri(), v.sha256());
  }

  /**
   * The files of version {@code v} with their checksums and sizes: its one file, or the list its
   * manifest holds (read from the store and checked against the recorded sha256).
   */
  public List<ModelFile> files(ModelVersion v) {
    if (!VersionManifest.isManifest(v.artifactUri())) {
      return List.of(
          new ModelFile(
              new org.apache.hadoop.fs.Path(v.artifactUri()).getName(),
              v.sha256(),
              v.sizeBytes(),
              true));
    }
    Path manifest = store.fetchVerified(v.ref().toString(), v.artifactUri(), v.sha256());
    try {
      return VersionManifest.parse(Files.readString(manifest), "the file list of " + v.ref())
          .files();
    } catch (IOException e) {
      throw new CatalogException(
          String.format("Cannot read the file list of model %s: %s", v.ref(), e.getMessage()), e);
    }
  }

  /** Every version of {@code model}, oldest first. */
  List<ModelVersion> versions(String model) {
    return db.read(
        "list versions of " + model,
        c -> {
          requireModel(c, model);
          return select(c, model, null);
        });
  }

  /** The aliases of {@code model} and the versions they point at. */
  public Map<String, Integer> aliases(String model) {
    return db.read(
        "list aliases of " + model,
        c -> {
          requireModel(c, model);
          return aliases(c, model);
        });
  }

  /** The names of all registered models. */
  public List<String> models() {
    return db.read(
        "list models",
        c -> {
          List<String> out = new ArrayList<>();
          try (PreparedStatement ps = c.prepareStatement("SELECT name FROM models ORDER BY name");
              ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.add(rs.getString(1));
            }
          }
          return out;
        });
  }

  private void requireModel(Connection c, String model) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM models WHERE name = ?")) {
      ps.setString(1, model);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          List<String> known = new ArrayList<>();
          try (PreparedStatement all = c.prepareStatement("SELECT name FROM models ORDER BY name");
              ResultSet names = all.executeQuery()) {
            while (names.next()) {
              known.add(names.getString(1));
            }
          }
          throw new SpecException(
              String.format(
                  "No model named '%s' in the catalog (models: %s). Register it with: lakeforge models register %s"
                      + " --file ... --flavor onnx|torchscript.",
                  model, known, model));
        }
      }
    }
  }

  private Optional<ModelVersion> find(Connection c, ModelRef ref) throws SQLException {
    return select(c, ref.name(), ref.version().orElseThrow()).stream().findFirst();
  }

  /**
   * The versions of {@code model} (only {@code version} when given), oldest first, in one query.
   */
  private static List<ModelVersion> select(Connection c, String model, Integer version)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT version, flavor, artifact_uri, sha256, size_bytes, signature, description, tags, created_by,"
                + " created_at FROM model_versions WHERE model = ?"
                + (version == null ? "" : " AND version = ?")
                + " ORDER BY version")) {
      ps.setString(1, model);
      if (version != null) {
        ps.setInt(2, version);
      }
      List<ModelVersion> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ModelRef ref = ModelRef.of(model, rs.getInt(1));
          String signature = rs.getString(6);
          @SuppressWarnings("unchecked")
          Map<String, String> tags =
              YamlSpecReader.parse(rs.getString(8), LinkedHashMap.class, "tags of " + ref);
          out.add(
              new ModelVersion(
                  model,
                  rs.getInt(1),
                  ModelFlavor.parse(rs.getString(2)),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getLong(5),
                  Optional.ofNullable(signature)
                      .map(
                          sig ->
                              YamlSpecReader.parse(
                                  sig, ModelSignature.class, "signature of " + ref)),
                  Optional.ofNullable(rs.getString(7)),
                  Map.copyOf(tags),
                  rs.getString(9),
                  Instant.parse(rs.getString(10))));
        }
      }
      return out;
    }
  }

  private static List<Integer> versionNumbers(Connection c, String model) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT version FROM model_versions WHERE model = ? ORDER BY version")) {
      ps.setString(1, model);
      List<Integer> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getInt(1));
        }
      }
      return out;
    }
  }

  private static Optional<Integer> aliasTarget(Connection c, String model, String alias)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT version FROM model_aliases WHERE model = ? AND alias = ?")) {
      ps.setString(1, model);
      ps.setString(2, alias);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getInt(1)) : Optional.empty();
      }
    }
  }

  private static Map<String, Integer> aliases(Connection c, String model) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT alias, version FROM model_aliases WHERE model = ? ORDER BY alias")) {
      ps.setString(1, model);
      Map<String, Integer> out = new LinkedHashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getInt(2));
        }
      }
      return out;
    }
  }
}
