package dev.lakeforge.cli;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.ModelFile;
import dev.lakeforge.catalog.ModelFlavor;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.catalog.ModelRegistry;
import dev.lakeforge.catalog.ModelSignature;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.core.YamlSpecReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakeforge models ...}: the model registry. None of these start Spark. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = "Register model versions, move aliases, list and inspect models.",
    subcommands = {
      ModelsCommand.Register.class,
      ModelsCommand.ListModels.class,
      ModelsCommand.Show.class,
      ModelsCommand.Alias.class
    })
final class ModelsCommand {

  /** Base of the model subcommands. */
  abstract static class Sub extends Subcommand {
    ModelRegistry registry() {
      return root().models();
    }
  }

  @Command(
      name = "register",
      mixinStandardHelpOptions = true,
      description = {
        "Copy a model's files into the model store and record them as the model's next version",
        "(sha256 of each file, size, flavor, signature). Versions are immutable; the first version creates",
        "the model."
      })
  static final class Register extends Sub {
    @Parameters(
        index = "0",
        paramLabel = "NAME",
        description = "Model name: a-z, 0-9, _ and -, e.g. churn.")
    String name;

    @Option(
        names = "--file",
        required = true,
        paramLabel = "PATH",
        description =
            "A file of the version (the model, a tokenizer.json, a config), or a folder of them;"
                + " repeatable.")
    List<Path> files;

    @Option(
        names = "--model-file",
        paramLabel = "NAME",
        description =
            "Which file is the model, when there are several (default: the only .onnx or .pt file).")
    String modelFile;

    @Option(names = "--flavor", required = true, paramLabel = "onnx|torchscript")
    String flavor;

    @Option(
        names = "--signature",
        paramLabel = "FILE",
        description =
            "YAML/JSON with inputs and outputs: [{name, type, shape}], e.g. shape [-1, 4]. Required"
                + " for torchscript (its file records neither); onnx: read from the model, which a"
                + " signature file may pin.")
    Path signature;

    @Option(names = "--description", paramLabel = "TEXT")
    String description;

    @Option(names = "--tag", paramLabel = "KEY=VALUE", description = "A label; repeatable.")
    Map<String, String> tags = new LinkedHashMap<>();

    @Override
    void run() {
      Optional<ModelSignature> sig =
          Optional.ofNullable(signature)
              .map(f -> YamlSpecReader.read(f, ModelSignature.class, "model signature"));
      var r =
          new ModelRegistry.Registration(
              name,
              files,
              Optional.ofNullable(modelFile),
              ModelFlavor.parse(flavor),
              sig,
              Optional.ofNullable(description),
              tags);
      ModelVersion v = registry().register(r, root().principal());
      out()
          .printf(
              "Registered %s (%s, %d bytes, sha256 %s) as %s.%n",
              v.ref(), v.flavor(), v.sizeBytes(), v.sha256(), v.artifactUri());
      if (r.files().size() > 1) {
        printFiles(out(), registry().files(v));
      }
    }
  }

  /** One line per file of a multi-file version: name, size, sha256, and which is the model. */
  static void printFiles(PrintWriter o, List<ModelFile> files) {
    for (ModelFile f : files) {
      o.printf(
          "file:        %s (%d bytes, sha256 %s)%s%n",
          f.name(), f.size(), f.sha256(), f.model() ? " model" : "");
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description =
          "The models you may EXECUTE (admins: all), or one model's versions (needs EXECUTE on it).")
  static final class ListModels extends Sub {
    @Parameters(arity = "0..1", paramLabel = "NAME")
    String name;

    @Override
    void run() {
      ModelRegistry reg = registry();
      if (name == null) {
        AccessControl access = new AccessControl(root().catalog());
        dev.lakeforge.catalog.Principal who = root().principal();
        TextTable t = new TextTable(List.of("model", "aliases"));
        for (String m : reg.models()) {
          if (access.holds(who, Privilege.EXECUTE, AccessControl.model(m))) {
            t.add(m, reg.aliases(m));
          }
        }
        out().print(t.render());
        return;
      }
      List<ModelVersion> versions = reg.versions(name, root().principal());
      Map<String, Integer> aliases = reg.aliases(name);
      TextTable t =
          new TextTable(
              List.of(
                  "version", "flavor", "bytes", "sha256", "aliases", "created by", "created at"));
      for (ModelVersion v : versions) {
        List<String> pointing =
            aliases.entrySet().stream()
                .filter(e -> e.getValue() == v.version())
                .map(Map.Entry::getKey)
                .toList();
        t.add(
            v.version(),
            v.flavor(),
            v.sizeBytes(),
            v.sha256().substring(0, 12),
            String.join(",", pointing),
            v.createdBy(),
            v.createdAt());
      }
      out().print(t.render());
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "One version: name/version or name@alias.")
  static final class Show extends Sub {
    @Parameters(index = "0", paramLabel = "MODEL_REF")
    String ref;

    @Override
    void run() {
      ModelVersion v = registry().resolve(ModelRef.parse(ref), root().principal());
      PrintWriter o = out();
      o.printf("model:       %s%n", v.ref());
      o.printf("flavor:      %s%n", v.flavor());
      o.printf("artifact:    %s%n", v.artifactUri());
      o.printf("sha256:      %s%n", v.sha256());
      o.printf("size:        %d bytes%n", v.sizeBytes());
      List<ModelFile> files = registry().files(v);
      if (files.size() > 1) {
        printFiles(o, files);
      }
      o.printf("description: %s%n", v.description().orElse(""));
      o.printf("tags:        %s%n", v.tags());
      o.printf("created:     %s by %s%n", v.createdAt(), v.createdBy());
      v.signature()
          .ifPresent(
              s -> {
                s.inputs()
                    .forEach(
                        t -> o.printf("input:       %s %s %s%n", t.name(), t.type(), t.shape()));
                s.outputs()
                    .forEach(
                        t -> o.printf("output:      %s %s %s%n", t.name(), t.type(), t.shape()));
              });
    }
  }

  @Command(
      name = "alias",
      mixinStandardHelpOptions = true,
      description =
          "Point an alias (champion, challenger, any name) at a version; the move is audited.")
  static final class Alias extends Sub {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "ALIAS")
    String alias;

    @Parameters(index = "2", paramLabel = "VERSION")
    int version;

    @Override
    void run() {
      registry().alias(name, alias, version, root().principal());
      out().printf("%s@%s -> %s/%d%n", name, alias, name, version);
    }
  }
}
