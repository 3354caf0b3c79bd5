package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lakeforge models} and {@code lakeforge catalog audit} end to end (no Spark is started for
 * these).
 */
class ModelsCliTest {
  @TempDir Path home;

  private CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  private CliRun fails(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).startsWith("error: ");
    return r;
  }

  @Test
  void registerAliasShowListAndAudit() throws Exception {
    // the OS user bootstraps the home as its admin and makes ann one; it acts as ann, bob and carl
    ok("catalog", "grant", "ADMIN", "*", "ann");
    Path model = Files.writeString(home.resolve("m.pt"), "bytes of a model");
    Path sig =
        Files.writeString(
            home.resolve("sig.yaml"),
            """
        inputs: [{name: x, type: float32, shape: [-1, 3]}]
        outputs: [{name: y, type: float32, shape: [-1]}]
        """);
    assertThat(
            ok(
                    "--as",
                    "ann",
                    "models",
                    "register",
                    "churn",
                    "--file",
                    model.toString(),
                    "--flavor",
                    "torchscript",
                    "--signature",
                    sig.toString(),
                    "--tag",
                    "team=growth",
                    "--description",
                    "first")
                .out())
        .startsWith("Registered churn/1 (torchscript, 16 bytes, sha256 ");
    // a TorchScript file says nothing of its inputs and outputs: without --signature, refused
    // before anything is uploaded or recorded
    assertThat(
            fails(
                    "--as",
                    "ann",
                    "models",
                    "register",
                    "churn",
                    "--file",
                    model.toString(),
                    "--flavor",
                    "torchscript")
                .err())
        .isEqualTo(
            "error: Cannot register model churn: it is a TorchScript model, and a TorchScript file"
                + " does not record the names, types and shapes of its inputs and outputs, so the"
                + " version needs a signature to be scored. Pass --signature FILE (YAML or JSON, e.g."
                + " inputs: [{name: features, type: float32, shape: [-1, 4]}] and outputs:"
                + " [{name: probs, type: float32, shape: [-1, 3]}], in the module's order) and"
                + " register again.\n");
    try (var uploads = Files.list(home.resolve("models").resolve("churn"))) {
      assertThat(uploads.toList()).as("only churn/1's upload is in the store").hasSize(1);
    }
    assertThat(
            ok(
                    "--as",
                    "ann",
                    "models",
                    "register",
                    "churn",
                    "--file",
                    model.toString(),
                    "--flavor",
                    "torchscript",
                    "--signature",
                    sig.toString())
                .out())
        .as("the refused registration took no version number")
        .startsWith("Registered churn/2 (torchscript, 16 bytes, sha256 ");
    ok("--as", "ann", "catalog", "grant", "PROMOTE", "model:churn", "bob");
    assertThat(fails("--as", "bob", "models", "alias", "churn", "champion", "5").err())
        .contains("churn has no version 5");
    assertThat(fails("--as", "carl", "models", "alias", "churn", "champion", "2").err())
        .contains("carl", "PROMOTE", "model:churn", "catalog grant PROMOTE model:churn carl");
    assertThat(ok("--as", "bob", "models", "alias", "churn", "champion", "2").out())
        .isEqualTo("churn@champion -> churn/2\n");

    assertThat(ok("--as", "ann", "models", "show", "churn@champion").out())
        .contains("model:       churn/2", "created:", "by ann", "input:       x float32 [-1, 3]");
    assertThat(ok("--as", "ann", "models", "show", "churn/1").out())
        .contains("input:       x float32 [-1, 3]", "{team=growth}");
    assertThat(ok("--as", "ann", "models", "list").out()).contains("churn | {champion=2}");
    assertThat(ok("--as", "ann", "models", "list", "churn").out()).contains("champion");
    assertThat(fails("--as", "bob", "models", "show", "churn/1").err())
        .contains("bob", "EXECUTE", "model:churn");

    String audit = ok("--as", "ann", "catalog", "audit", "--object", "model:churn").out();
    assertThat(audit.lines().filter(l -> l.contains("| model.")).count()).isEqualTo(3);
    assertThat(audit).contains("| denied ", "access.promote");
    assertThat(fails("--as", "bob", "catalog", "audit").err()).contains("bob", "ADMIN");
    assertThat(ok("--as", "ann", "catalog", "audit", "--principal", "bob").out())
        .contains("model.alias", "model:churn@champion", "new -> version 2")
        .doesNotContain("model.register");
  }

  @Test
  void aVersionOfSeveralFilesIsRegisteredAndShownWithItsFiles() throws Exception {
    Path model = Files.writeString(home.resolve("encoder.pt"), "torchscript weights");
    Path tokenizer = Files.writeString(home.resolve("tokenizer.json"), "{}");
    String sig = Files.writeString(home.resolve("sig.yaml"), TestSignatures.X_TO_Y_YAML).toString();
    String registered =
        ok(
                "models",
                "register",
                "encoder",
                "--file",
                model.toString(),
                "--file",
                tokenizer.toString(),
                "--flavor",
                "torchscript",
                "--signature",
                sig)
            .out();
    assertThat(registered)
        .startsWith("Registered encoder/1 (torchscript, 21 bytes, sha256 ")
        .contains("/lakeforge-version.json.\n")
        .containsPattern("file: +encoder\\.pt \\(19 bytes, sha256 [0-9a-f]{64}\\) model\n")
        .containsPattern("file: +tokenizer\\.json \\(2 bytes, sha256 [0-9a-f]{64}\\)\n");
    assertThat(ok("models", "show", "encoder/1").out())
        .contains("file:        encoder.pt (19 bytes", "file:        tokenizer.json (2 bytes");

    Path folder = Files.createDirectories(home.resolve("export"));
    Files.writeString(folder.resolve("a.pt"), "a");
    Files.writeString(folder.resolve("b.pt"), "b");
    assertThat(
            fails(
                    "models",
                    "register",
                    "encoder",
                    "--file",
                    folder.toString(),
                    "--flavor",
                    "torchscript",
                    "--signature",
                    sig)
                .err())
        .contains("[a.pt, b.pt] end with .pt", "--model-file");
    assertThat(
            ok(
                    "models",
                    "register",
                    "encoder",
                    "--file",
                    folder.toString(),
                    "--model-file",
                    "b.pt",
                    "--flavor",
                    "torchscript",
                    "--signature",
                    sig)
                .out())
        .contains("Registered encoder/2", "file:        b.pt (1 bytes, sha256 ");
  }

  @Test
  void badInputIsNamedAndWritesNothing() throws Exception {
    Path model = Files.writeString(home.resolve("m.onnx"), "bytes");
    assertThat(
            fails(
                    "models",
                    "register",
                    "churn",
                    "--file",
                    home.resolve("nope.onnx").toString(),
                    "--flavor",
                    "onnx")
                .err())
        .contains("nope.onnx", "is not a file");
    assertThat(
            fails("models", "register", "churn", "--file", model.toString(), "--flavor", "pickle")
                .err())
        .contains("pickle", "onnx or torchscript");
    Path badSig =
        Files.writeString(
            home.resolve("bad.yaml"), "inputs: [{name: x, type: float32, shape: [0]}]\n");
    assertThat(
            fails(
                    "models",
                    "register",
                    "churn",
                    "--file",
                    model.toString(),
                    "--flavor",
                    "onnx",
                    "--signature",
                    badSig.toString())
                .err())
        .contains("bad.yaml", "`x` has dimension 0", "-1 (dynamic)");
    assertThat(fails("models", "show", "churn/1").err()).contains("No model named 'churn'");
    assertThat(fails("--as", "bad name!", "models", "alias", "churn", "champion", "1").err())
        .contains("'bad name!'");
    assertThat(fails("catalog", "audit", "--since", "last week").err())
        .contains("'last week'", "2026-11-24");
    assertThat(ok("catalog", "audit").out())
        .as("nothing was registered")
        .doesNotContain("model.register");
  }
}
