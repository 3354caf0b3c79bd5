package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A catalog at {@link CatalogDatabase#SCHEMA_VERSION} skips Flyway, so the constant must name the
 * newest migration (SQL or Java); and a fresh catalog migrated once is then recognised as current.
 */
class SchemaVersionTest {
  private static final Pattern VERSION = Pattern.compile("V(\\d+(?:[._]\\d+)*)__.*\\.(sql|java)");

  private static List<Integer> parts(String v) {
    return Stream.of(v.split("[._]")).map(Integer::valueOf).toList();
  }

  private static final Comparator<List<Integer>> ORDER =
      (a, b) -> {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
          int x = i < a.size() ? a.get(i) : 0;
          int y = i < b.size() ? b.get(i) : 0;
          if (x != y) {
            return Integer.compare(x, y);
          }
        }
        return 0;
      };

  @Test
  void theSchemaVersionIsTheNewestMigration() throws IOException {
    List<Path> roots =
        List.of(Path.of("src/main/resources/lakeforge/catalog/migration"), Path.of("catalog"));
    List<Integer> newest = List.of(0);
    for (Path root : roots) {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : files.toList()) {
          Matcher m = VERSION.matcher(f.getFileName().toString());
          if (m.matches() && ORDER.compare(parts(m.group(1)), newest) > 0) {
            newest = parts(m.group(1));
          }
        }
      }
    }
    assertThat(parts(CatalogDatabase.SCHEMA_VERSION)).isEqualTo(newest);
  }

  @Test
  void aMigratedCatalogIsCurrentAndANewerOneIsNot(@TempDir Path dir) throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("catalog.db");
    CatalogDatabase db =
        CatalogDatabase.open(url, java.util.Optional.empty(), java.util.Optional.empty());
    assertThat(db.atCurrentSchema()).isTrue();
    try (var c = java.sql.DriverManager.getConnection(url);
        var st = c.createStatement()) {
      st.executeUpdate(
          "INSERT INTO "
              + CatalogDatabase.HISTORY_TABLE
              + " (installed_rank, version, description, type, script, installed_by, installed_on,"
              + " execution_time, success) VALUES (999, '999', 'later', 'SQL', 'V999__later.sql',"
              + " 'test', '2026-12-01', 0, 1)");
    }
    assertThat(db.atCurrentSchema()).as("a schema newer than this build goes to Flyway").isFalse();
  }
}
