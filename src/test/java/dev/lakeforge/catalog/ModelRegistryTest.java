package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.testing.CatalogBackend;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The model registry and the audit log, on SQLite and on a real PostgreSQL server. */
class ModelRegistryTest {
  private static final Principal ANN = new Principal("ann");
  private static final Principal BOB = new Principal("bob");
  private static final String SIGNATURE =
      """
      inputs:
        - {name: features, type: float32, shape: [-1, 4]}
      outputs:
        - {name: score, type: float32, shape: [-1, 1]}
      """;

  @TempDir Path dir;

  private ModelRegistry registry(CatalogDatabase db) {
    return new ModelRegistry(db, dir.resolve("models"));
  }

  private Path artifact(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  private static ModelRegistry.Registration registration(String name, Path file) {
    return new ModelRegistry.Registration(
        name, file, ModelFlavor.TORCHSCRIPT, TestSignatures.xToY(), Optional.empty(), Map.of());
  }

  /** The folders in the store of {@code model}, by name. */
  private List<String> storeFolders(String model) throws Exception {
    try (var s = Files.list(dir.resolve("models").resolve(model))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** The name of the store folder holding the artifact of {@code v}. */
  private static String folderOf(ModelVersion v) {
    String folder = new org.apache.hadoop.fs.Path(v.artifactUri()).getParent().getName();
    assertThat(folder)
        .as("an upload folder, named independently of the version")
        .startsWith("upload-");
    return folder;
  }

  private static long count(CatalogDatabase db, String sql) {
    return db.read(
        "count",
        c -> {
          try (var rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
          }
        });
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aTorchScriptVersionWithoutASignatureIsRefusedBeforeAnythingIsStored(CatalogBackend backend)
      throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    Path file = artifact("mlp.pt", "pretend torchscript bytes");

    assertThatThrownBy(
            () ->
                reg.register(
                    new ModelRegistry.Registration(
                        "mlp",
                        file,
                        ModelFlavor.TORCHSCRIPT,
                        Optional.empty(),
                        Optional.empty(),
                        Map.of()),
                    ANN))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "Cannot register model mlp: it is a TorchScript model, and a TorchScript file does not"
                + " record the names, types and shapes of its inputs and outputs, so the version"
                + " needs a signature to be scored. Pass --signature FILE (YAML or JSON, e.g."
                + " inputs: [{name: features, type: float32, shape: [-1, 4]}] and outputs:"
                + " [{name: probs, type: float32, shape: [-1, 3]}], in the module's order) and"
                + " register again.");
    assertThat(reg.models()).as("no model and no version recorded").isEmpty();
    assertThat(dir.resolve("models")).as("nothing uploaded").doesNotExist();
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .extracting(AuditLog.Entry::action)
        .doesNotContain("model.register");

    ModelVersion v =
        reg.register(
            new ModelRegistry.Registration(
                "mlp",
                file,
                ModelFlavor.TORCHSCRIPT,
                TestSignatures.xToY(),
                Optional.empty(),
                Map.of()),
            ANN);
    assertThat(v.ref()).isEqualTo(ModelRef.parse("mlp/1"));
    assertThat(reg.resolve(v.ref()).signature()).contains(TestSignatures.X_TO_Y);
    assertThat(reg.open(v.ref())).hasContent("pretend torchscript bytes");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void registersACopyWithChecksumSignatureAndAuditRow(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    Path file = artifact("model.pt", "pretend torchscript bytes");
    ModelSignature sig = YamlSpecReader.parse(SIGNATURE, ModelSignature.class, "sig");

    ModelVersion v1 =
        reg.register(
            new ModelRegistry.Registration(
                "churn",
                file,
                ModelFlavor.TORCHSCRIPT,
                Optional.of(sig),
                Optional.of("first cut"),
                Map.of("team", "growth")),
            ANN);
    Files.writeString(file, "the source file changes later; the registered copy does not");

    assertThat(v1.ref()).isEqualTo(ModelRef.parse("churn/1"));
    Path stored = reg.open(ModelRef.parse("churn/1"));
    assertThat(stored)
        .startsWith(dir.resolve("models/churn"))
        .hasFileName("model.pt")
        .hasContent("pretend torchscript bytes");
    assertThat(storeFolders("churn")).containsExactly(folderOf(v1));
    assertThat(v1.sha256()).isEqualTo(sha256(stored));
    ModelVersion read = reg.resolve(ModelRef.parse("churn/1"));
    assertThat(read.signature()).contains(sig);
    assertThat(read.tags()).containsExactly(Map.entry("team", "growth"));
    assertThat(read.sizeBytes()).isEqualTo(25);
    assertThat(read.createdBy()).isEqualTo("ann");

    List<AuditLog.Entry> audit =
        new AuditLog(db)
            .read(AuditLog.Filter.all()).stream()
                .filter(e -> e.action().startsWith("model."))
                .toList();
    assertThat(audit)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.principal()).isEqualTo("ann");
              assertThat(e.action()).isEqualTo("model.register");
              assertThat(e.object()).isEqualTo("model:churn/1");
              assertThat(e.detail()).contains("sha256=" + v1.sha256());
            });
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aliasesMoveAndEveryMoveIsAudited(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    reg.register(registration("churn", artifact("a.onnx", "v1")), ANN);
    reg.register(registration("churn", artifact("b.onnx", "v2")), ANN);

    reg.alias("churn", "champion", 1, ANN);
    assertThat(reg.resolve(ModelRef.parse("churn@champion")).version()).isEqualTo(1);
    new AccessControl(db).grant(ANN, Privilege.PROMOTE, "model:churn", "bob", false);
    reg.alias("churn", "champion", 2, BOB);
    reg.alias("churn", "challenger", 1, BOB);
    assertThat(reg.resolve(ModelRef.parse("churn@champion")).version()).isEqualTo(2);
    assertThat(reg.aliases("churn"))
        .containsExactly(Map.entry("challenger", 1), Map.entry("champion", 2));

    List<AuditLog.Entry> moves =
        new AuditLog(db)
            .read(
                new AuditLog.Filter(
                    Optional.of("bob"), Optional.of("model:churn@"), Optional.empty()));
    assertThat(moves)
        .extracting(AuditLog.Entry::object, AuditLog.Entry::detail)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("model:churn@champion", "version 1 -> 2"),
            org.assertj.core.groups.Tuple.tuple("model:churn@challenger", "new -> version 1"));
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aCorruptedArtifactIsDetectedAtLoad(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    ModelVersion v = reg.register(registration("churn", artifact("m.onnx", "good bytes")), ANN);
    Path stored = reg.open(v.ref());
    Files.writeString(stored, "evil bytes");
    assertThatThrownBy(() -> reg.open(ModelRef.parse("churn/1")))
        .isInstanceOf(CatalogException.class)
        .hasMessageContainingAll("churn/1", stored.toString(), v.sha256(), "changed or corrupted");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void badInputGivesAClearErrorAndNoPartialRows(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    reg.register(registration("churn", artifact("m.onnx", "v1")), ANN);

    assertThatThrownBy(() -> reg.resolve(ModelRef.parse("fraud/1")))
        .isInstanceOf(SpecException.class)
        .hasMessageContainingAll("'fraud'", "[churn]", "models register fraud");
    assertThatThrownBy(() -> reg.resolve(ModelRef.parse("churn/7")))
        .hasMessageContainingAll("churn has no version 7", "[1]");
    assertThatThrownBy(() -> reg.resolve(ModelRef.parse("churn@champion")))
        .hasMessageContainingAll("no alias 'champion'", "models alias churn champion");
    assertThatThrownBy(() -> reg.alias("churn", "champion", 5, ANN))
        .hasMessageContainingAll("churn@champion", "no version 5", "[1]");
    assertThatThrownBy(() -> registration("churn", dir.resolve("missing.onnx")))
        .hasMessageContainingAll("missing.onnx", "is not a file");
    assertThatThrownBy(() -> reg.register(registration("churn", artifact("empty.onnx", "")), ANN))
        .hasMessageContainingAll("empty.onnx", "is empty");
    assertThatThrownBy(() -> ModelRef.parse("Churn!"))
        .hasMessageContainingAll("'Churn!'", "name/version");
    assertThatThrownBy(
            () ->
                YamlSpecReader.parse(
                    SIGNATURE.replace("float32, shape: [-1, 4]", "float33, shape: [-1, 4]"),
                    ModelSignature.class,
                    "sig.yaml"))
        .hasMessageContainingAll("sig.yaml", "`features`", "float33", "float32");
    assertThatThrownBy(
            () ->
                YamlSpecReader.parse(
                    SIGNATURE.replace("inputs:", "input:"), ModelSignature.class, "sig.yaml"))
        .hasMessageContainingAll("sig.yaml", "unknown field `input`", "inputs, outputs");

    assertThat(count(db, "select count(*) from model_versions")).isEqualTo(1);
    assertThat(count(db, "select count(*) from model_aliases")).isZero();
    assertThat(count(db, "select count(*) from audit_log where action like 'model.%'"))
        .isEqualTo(1);
    assertThat(storeFolders("churn"))
        .as("one folder per version; failed registrations leave none")
        .containsExactly(folderOf(reg.resolve(ModelRef.parse("churn/1"))));
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void auditRowsCannotBeChangedOrRemoved(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    registry(db).register(registration("churn", artifact("m.onnx", "v1")), ANN);
    for (String sql :
        List.of("UPDATE audit_log SET principal = 'mallory'", "DELETE FROM audit_log")) {
      assertThatThrownBy(
              () -> {
                try (Connection c = db.connect();
                    Statement s = c.createStatement()) {
                  s.executeUpdate(sql);
                }
              })
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("audit_log is append-only");
    }
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .filteredOn(e -> e.action().equals("model.register"))
        .singleElement()
        .extracting(AuditLog.Entry::principal)
        .isEqualTo("ann");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void concurrentRegistrationsGetDistinctGapFreeVersions(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    int n = 200;
    Path file = artifact("m.onnx", "weights");
    AccessControl access = new AccessControl(db);
    access.require(ANN, Privilege.ADMIN, "*"); // ann bootstraps the catalog as its admin
    access.addToRole(
        ANN, "trainers", IntStream.range(0, 7).mapToObj(i -> new Principal("svc-" + i)).toList());
    access.grant(ANN, Privilege.CREATE_VERSION, "model:*", "trainers", true);
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      List<Future<ModelVersion>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Principal who = new Principal("svc-" + (i % 7));
        futures.add(pool.submit(() -> reg.register(registration("churn", file), who)));
      }
      List<Integer> versions = new ArrayList<>();
      for (Future<ModelVersion> f : futures) {
        versions.add(f.get().version());
      }
      assertThat(versions)
          .doesNotHaveDuplicates()
          .containsExactlyInAnyOrderElementsOf(IntStream.rangeClosed(1, n).boxed().toList());

      // concurrent alias moves: the alias always points at a registered version, and each move has
      // its audit row
      List<Future<?>> moves = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        int target = 1 + (i * 37) % n;
        moves.add(pool.submit(() -> reg.alias("churn", "champion", target, ANN)));
      }
      for (Future<?> f : moves) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(reg.versions("churn")).hasSize(n);
    assertThat(count(db, "select count(*) from audit_log where action = 'model.register'"))
        .isEqualTo(n);
    assertThat(count(db, "select count(*) from audit_log where action = 'model.alias'"))
        .isEqualTo(64);
    assertThat(reg.open(ModelRef.parse("churn@champion"))).hasContent("weights");
    try (var s = Files.list(dir.resolve("models/churn"))) {
      assertThat(s.count()).isEqualTo(n);
    }
  }

  private static ModelRegistry.Registration files(
      String name, Optional<String> modelFile, Path... files) {
    return new ModelRegistry.Registration(
        name,
        List.of(files),
        modelFile,
        ModelFlavor.TORCHSCRIPT,
        TestSignatures.xToY(),
        Optional.empty(),
        Map.of());
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aVersionOfSeveralFilesIsRecordedByItsManifestAndVerifiedWhole(CatalogBackend backend)
      throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    Path model = artifact("scorer.pt", "torchscript bytes");
    Path tokenizer = artifact("tokenizer.json", "{\"model\": {}}");
    Path config = artifact("config.json", "{}");

    ModelVersion v = reg.register(files("scorer", Optional.empty(), model, tokenizer, config), ANN);

    assertThat(v.artifactUri()).endsWith("/lakeforge-version.json");
    Path manifest = Path.of(new org.apache.hadoop.fs.Path(v.artifactUri()).toUri().getPath());
    assertThat(v.sha256()).as("the manifest's checksum is recorded").isEqualTo(sha256(manifest));
    assertThat(v.sizeBytes())
        .isEqualTo(Files.size(model) + Files.size(tokenizer) + Files.size(config));
    assertThat(reg.files(reg.resolve(v.ref())))
        .containsExactly(
            new ModelFile("scorer.pt", sha256(model), Files.size(model), true),
            new ModelFile("tokenizer.json", sha256(tokenizer), Files.size(tokenizer), false),
            new ModelFile("config.json", sha256(config), Files.size(config), false));
    VerifiedArtifacts.LocalFiles local = reg.openFiles(v.ref(), ANN);
    assertThat(local.model()).hasFileName("scorer.pt").hasContent("torchscript bytes");
    assertThat(reg.open(v.ref())).isEqualTo(local.model());
    assertThat(local.files().keySet())
        .containsExactly("scorer.pt", "tokenizer.json", "config.json");
    assertThat(local.file("tokenizer.json").orElseThrow()).hasContent("{\"model\": {}}");
    assertThat(local.files().values())
        .allSatisfy(f -> assertThat(f.getParent()).isEqualTo(manifest.getParent()));
    assertThat(storeFolders("scorer")).containsExactly(folderOf(v));
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .filteredOn(e -> e.action().equals("model.register"))
        .singleElement()
        .extracting(AuditLog.Entry::detail)
        .asString()
        .contains(
            "sha256=" + v.sha256(),
            "files=[scorer.pt, tokenizer.json, config.json] model=scorer.pt");

    Path storedTokenizer = local.file("tokenizer.json").orElseThrow();
    Files.writeString(storedTokenizer, "{\"model\": {\"evil\": 1}}");
    assertThatThrownBy(() -> reg.open(v.ref()))
        .as("a changed file that is not the model is refused too")
        .isInstanceOf(CatalogException.class)
        .hasMessageContainingAll(
            "model scorer/1",
            storedTokenizer.toString(),
            sha256(tokenizer),
            "changed or corrupted");
    Files.writeString(storedTokenizer, "{\"model\": {}}");
    Files.writeString(manifest, Files.readString(manifest).replace(sha256(model), sha256(config)));
    assertThatThrownBy(() -> reg.openFiles(v.ref()))
        .isInstanceOf(CatalogException.class)
        .hasMessageContainingAll(v.artifactUri(), v.sha256(), "changed or corrupted");
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void whichFileIsTheModelIsGivenOrInferredAndMistakesRecordNothing(CatalogBackend backend)
      throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    Path folder = Files.createDirectories(dir.resolve("export"));
    Files.writeString(folder.resolve("model.pt"), "weights");
    Files.writeString(folder.resolve("vocab.txt"), "a b c");
    Files.writeString(folder.resolve(".DS_Store"), "hidden files are skipped");

    ModelVersion fromFolder = reg.register(files("tagger", Optional.empty(), folder), ANN);
    assertThat(reg.files(fromFolder))
        .extracting(ModelFile::name, ModelFile::model)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("model.pt", true),
            org.assertj.core.groups.Tuple.tuple("vocab.txt", false));

    Path second = artifact("other.pt", "more weights");
    Path vocab = folder.resolve("vocab.txt");
    assertThatThrownBy(
            () -> files("tagger", Optional.empty(), folder.resolve("model.pt"), second, vocab))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "Cannot register model tagger: 2 of the files [model.pt, other.pt, vocab.txt] end with .pt,"
                + " so which one is the torchscript model is not clear. Name it with --model-file.");
    ModelVersion chosen =
        reg.register(
            files("tagger", Optional.of("other.pt"), folder.resolve("model.pt"), second), ANN);
    assertThat(reg.open(chosen.ref())).hasContent("more weights");
    assertThatThrownBy(() -> files("tagger", Optional.empty(), vocab, artifact("notes.md", "x")))
        .hasMessageContainingAll("none of the files [vocab.txt, notes.md] end with .pt");
    assertThatThrownBy(() -> files("tagger", Optional.of("model.onnx"), folder))
        .hasMessage(
            "Cannot register model tagger: the model file model.onnx is not among the files [model.pt,"
                + " vocab.txt]. Name one of them with --model-file.");
    Path copy = Files.createDirectories(dir.resolve("copy"));
    Path vocabAgain = Files.writeString(copy.resolve("vocab.txt"), "d e f");
    assertThatThrownBy(() -> files("tagger", Optional.empty(), folder, vocabAgain))
        .hasMessageContainingAll("two files are named vocab.txt", "distinct names");
    Path reserved = Files.writeString(copy.resolve("lakeforge-version.json"), "{}");
    assertThatThrownBy(() -> files("tagger", Optional.empty(), second, reserved))
        .hasMessageContainingAll("lakeforge-version.json is reserved", "Rename " + reserved);
    Files.createDirectories(copy.resolve("nested"));
    assertThatThrownBy(() -> files("tagger", Optional.empty(), copy))
        .hasMessageContainingAll("holds the subfolder nested", "--file");
    Path empty = artifact("empty.json", "");
    assertThatThrownBy(() -> reg.register(files("tagger", Optional.empty(), second, empty), ANN))
        .hasMessage("Cannot register model tagger: " + empty + " is empty.");

    assertThat(count(db, "select count(*) from model_versions")).isEqualTo(2);
    assertThat(storeFolders("tagger"))
        .containsExactlyInAnyOrder(folderOf(fromFolder), folderOf(chosen));
  }

  /** A real ONNX model (all-MiniLM-L6-v2, int8) from a Maven package on the test classpath. */
  private Path miniLm() throws Exception {
    Path file = dir.resolve("minilm.onnx");
    try (var in = getClass().getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
      assertThat(in).as("the MiniLM test dependency").isNotNull();
      Files.copy(in, file);
    }
    return file;
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void theSignatureOfAnOnnxModelIsReadFromTheModel(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = registry(db);
    Path onnx = miniLm();
    ModelVersion v =
        reg.register(
            new ModelRegistry.Registration(
                "minilm", onnx, ModelFlavor.ONNX, Optional.empty(), Optional.empty(), Map.of()),
            ANN);
    ModelSignature sig = reg.resolve(v.ref()).signature().orElseThrow();
    assertThat(sig.inputs())
        .extracting(
            ModelSignature.Tensor::name, ModelSignature.Tensor::type, ModelSignature.Tensor::shape)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("input_ids", "int64", List.of(-1L, -1L)),
            org.assertj.core.groups.Tuple.tuple("attention_mask", "int64", List.of(-1L, -1L)),
            org.assertj.core.groups.Tuple.tuple("token_type_ids", "int64", List.of(-1L, -1L)));
    assertThat(sig.outputs())
        .extracting(
            ModelSignature.Tensor::name, ModelSignature.Tensor::type, ModelSignature.Tensor::shape)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "last_hidden_state", "float32", List.of(-1L, -1L, 384L)));

    ModelSignature wrong = YamlSpecReader.parse(SIGNATURE, ModelSignature.class, "sig");
    assertThatThrownBy(
            () ->
                reg.register(
                    new ModelRegistry.Registration(
                        "minilm",
                        onnx,
                        ModelFlavor.ONNX,
                        Optional.of(wrong),
                        Optional.empty(),
                        Map.of()),
                    ANN))
        .hasMessageContainingAll(
            "minilm", "does not match the ONNX model", "input_ids:int64", "features:float32");
    Path notOnnx = artifact("fake.onnx", "not a model");
    assertThatThrownBy(
            () ->
                reg.register(
                    new ModelRegistry.Registration(
                        "minilm",
                        notOnnx,
                        ModelFlavor.ONNX,
                        Optional.empty(),
                        Optional.empty(),
                        Map.of()),
                    ANN))
        .hasMessageContainingAll("minilm", "fake.onnx", "not an ONNX model");
    assertThat(count(db, "select count(*) from model_versions")).isEqualTo(1);
    assertThat(storeFolders("minilm"))
        .containsExactly(folderOf(reg.resolve(ModelRef.parse("minilm/1"))));
  }
}
