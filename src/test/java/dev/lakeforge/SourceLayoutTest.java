package dev.lakeforge;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Each top-level source folder is one layer: the packages a folder's files declare are that layer's
 * and no other, so the repository's folders draw the same picture as {@link ArchitectureTest}'s
 * layers.
 */
class SourceLayoutTest {
  private static final Pattern PACKAGE = Pattern.compile("(?m)^package ([a-z.]+);");

  /** Folder to the package prefixes its sources may declare. */
  private static final Map<String, List<String>> LAYERS =
      Map.of(
          "core", List.of("dev.lakeforge.core"),
          "catalog", List.of("dev.lakeforge.catalog"),
          "lakehouse", List.of("dev.lakeforge.lakehouse"),
          "feature-jobs", List.of("dev.lakeforge.features"),
          "batch-inference", List.of("dev.lakeforge.inference"),
          "src/main/java",
              List.of("dev.lakeforge.cli", "dev.lakeforge.quickstart", "dev.lakeforge"));

  @Test
  void everyFolderHoldsOnlyItsLayer() throws IOException {
    for (Map.Entry<String, List<String>> layer : LAYERS.entrySet()) {
      Path root = Path.of(layer.getKey());
      assertThat(root).as("source folder %s", root).isDirectory();
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          Matcher m = PACKAGE.matcher(Files.readString(f));
          assertThat(m.find()).as("%s declares a package", f).isTrue();
          String pkg = m.group(1);
          assertThat(
                  layer.getValue().stream()
                      .anyMatch(
                          p ->
                              p.equals("dev.lakeforge")
                                  ? pkg.equals(p)
                                  : pkg.equals(p) || pkg.startsWith(p + ".")))
              .as("%s (package %s) belongs in the folder of its layer, not %s", f, pkg, root)
              .isTrue();
        }
      }
    }
  }
}
