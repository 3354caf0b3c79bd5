package dev.lakeforge.lakehouse;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads table specs from a YAML file or from every {@code *.yaml}/{@code *.yml} file in a folder.
 */
public final class TableSpecs {
  private TableSpecs() {}

  /**
   * Loads every spec at {@code path}, all or nothing: the first invalid file fails the whole load,
   * and two files declaring the same table are an error.
   */
  public static List<TableSpec> load(Path path) {
    List<Path> files = files(path);
    List<TableSpec> specs = new ArrayList<>();
    Map<TableName, Path> seen = new HashMap<>();
    for (Path f : files) {
      TableSpec spec = YamlSpecReader.read(f, TableSpec.class, "table spec");
      Path other = seen.put(spec.name(), f);
      if (other != null) {
        throw new SpecException(
            String.format(
                "Table %s is declared twice, in %s and %s: keep one.", spec.name(), other, f));
      }
      specs.add(spec);
    }
    return List.copyOf(specs);
  }

  private static List<Path> files(Path path) {
    if (Files.isRegularFile(path)) {
      return List.of(path);
    }
    if (!Files.isDirectory(path)) {
      throw new SpecException(
          String.format("Cannot read table specs at %s: no such file or folder.", path));
    }
    try (Stream<Path> s = Files.list(path)) {
      List<Path> files =
          s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
              .sorted()
              .toList();
      if (files.isEmpty()) {
        throw new SpecException(
            String.format("Folder %s holds no table specs (*.yaml): nothing to apply.", path));
      }
      return files;
    } catch (IOException e) {
      throw new SpecException(
          String.format("Cannot list table specs in %s: %s", path, e.getMessage()), e);
    }
  }
}
