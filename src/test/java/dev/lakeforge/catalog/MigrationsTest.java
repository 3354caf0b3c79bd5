package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Catalog migrations are append-only: a released migration (listed with its sha256 in {@value
 * #MANIFEST}) is never edited, renamed or removed, and a new one is numbered above every released
 * one. Flyway checks the checksum of a SQL migration only on catalogs that already ran it, and
 * never the body of a Java migration; this test checks both on every build.
 */
class MigrationsTest {
  static final String MANIFEST = "released-migrations.txt";
  private static final String SQL_ROOT = "lakeforge/catalog/migration";
  private static final Path JAVA_ROOT = Path.of("catalog");
  private static final Pattern NAME = Pattern.compile("V(\\d+(?:_\\d+)*)__\\w+\\.(sql|java)");

  /** A migration version, compared part by part: 6 < 6.1 < 7. */
  record Version(List<Integer> parts) implements Comparable<Version> {
    static Optional<Version> of(String path) {
      Matcher m = NAME.matcher(path.substring(path.lastIndexOf('/') + 1));
      return m.matches()
          ? Optional.of(
              new Version(Stream.of(m.group(1).split("_")).map(Integer::valueOf).toList()))
          : Optional.empty();
    }

    static Version parse(String text) {
      return new Version(Stream.of(text.split("\\.")).map(Integer::valueOf).toList());
    }

    @Override
    public int compareTo(Version o) {
      for (int i = 0; i < Math.max(parts.size(), o.parts.size()); i++) {
        int a = i < parts.size() ? parts.get(i) : 0;
        int b = i < o.parts.size() ? o.parts.get(i) : 0;
        if (a != b) {
          return Integer.compare(a, b);
        }
      }
      return 0;
    }

    @Override
    public String toString() {
      return String.join(".", parts.stream().map(String::valueOf).toList());
    }
  }

  @Test
  void releasedMigrationsAreUnchangedAndNewOnesComeAfterThem() {
    assertThat(problems(released(), current())).isEmpty();
  }

  @Test
  void theSchemaVersionIsTheNewestMigrationOnTheClassPath() {
    Version newest =
        current().keySet().stream()
            .map(p -> Version.of(p).orElseThrow())
            .max(Comparator.naturalOrder())
            .orElseThrow();
    assertThat(Version.parse(CatalogDatabase.SCHEMA_VERSION))
        .as("CatalogDatabase.SCHEMA_VERSION")
        .isEqualTo(newest);
  }

  @Test
  void everyMigrationIsListedOnceAndNamedTheWayFlywayReadsIt() {
    assertThat(current()).containsKeys(released().keySet().toArray(String[]::new));
    for (String path : current().keySet()) {
      assertThat(Version.of(path)).as(path).isPresent();
    }
  }

  // The checks themselves, on file sets made up for the purpose: each mistake is caught, with a
  // message that says what to do.

  private static final String V3 = SQL_ROOT + "/common/V3__runs.sql";
  private static final String V4 = SQL_ROOT + "/common/V4__grants.sql";
  private static final Map<String, String> RELEASED = Map.of(V3, sha("a"), V4, sha("b"));

  @Test
  void anEditedReleasedMigrationIsRefused() {
    Map<String, String> now = Map.of(V3, sha("a changed"), V4, sha("b"));
    assertThat(problems(RELEASED, now))
        .containsExactly(
            V3
                + " was released and has changed since (sha256 "
                + sha("a changed")
                + ", released as "
                + sha("a")
                + "): catalogs that ran it would no longer match. Restore it and add a new"
                + " migration instead, numbered above 4.");
  }

  @Test
  void aRenamedOrRenumberedReleasedMigrationIsRefused() {
    String renamed = SQL_ROOT + "/common/V3_1__runs.sql";
    assertThat(problems(RELEASED, Map.of(renamed, sha("a"), V4, sha("b"))))
        .containsExactly(
            V3
                + " was released and is gone (renamed, renumbered or removed): restore it and add a"
                + " new migration instead, numbered above 4.",
            renamed
                + " is new and has version 3.1, not above the newest released migration (4):"
                + " Flyway would refuse it on catalogs already at 4. Number it V5 or above; when it"
                + " is released, add its line to "
                + MANIFEST
                + ":\n"
                + sha("a")
                + "  "
                + renamed);
  }

  @Test
  void aNewMigrationAboveTheReleasedOnesIsAccepted() {
    Map<String, String> now = new TreeMap<>(RELEASED);
    now.put(SQL_ROOT + "/sqlite/V4_1__index.sql", sha("c"));
    now.put(SQL_ROOT + "/common/V5__models.sql", sha("d"));
    assertThat(problems(RELEASED, now)).isEmpty();
  }

  @Test
  void twoMigrationsWithOneVersionForOneDatabaseAreRefused() {
    Map<String, String> now = new TreeMap<>(RELEASED);
    now.put(SQL_ROOT + "/common/V5__models.sql", sha("c"));
    now.put(SQL_ROOT + "/postgresql/V5__index.sql", sha("d"));
    assertThat(problems(RELEASED, now))
        .containsExactly(
            "version 5 is used twice for postgresql: "
                + SQL_ROOT
                + "/common/V5__models.sql and "
                + SQL_ROOT
                + "/postgresql/V5__index.sql. Give one of them the next free number.");
  }

  /** What is wrong with {@code current} (path to sha256) given the {@code released} migrations. */
  static List<String> problems(Map<String, String> released, Map<String, String> current) {
    List<String> out = new ArrayList<>();
    Version newest =
        released.keySet().stream()
            .map(p -> Version.of(p).orElseThrow())
            .max(Comparator.naturalOrder())
            .orElse(new Version(List.of(0)));
    String next = "numbered above " + newest;
    new TreeMap<>(released)
        .forEach(
            (path, sha) -> {
              String now = current.get(path);
              if (now == null) {
                out.add(
                    String.format(
                        "%s was released and is gone (renamed, renumbered or removed): restore it"
                            + " and add a new migration instead, %s.",
                        path, next));
              } else if (!now.equals(sha)) {
                out.add(
                    String.format(
                        "%s was released and has changed since (sha256 %s, released as %s):"
                            + " catalogs that ran it would no longer match. Restore it and add a new"
                            + " migration instead, %s.",
                        path, now, sha, next));
              }
            });
    new TreeMap<>(current)
        .forEach(
            (path, sha) -> {
              Version v = Version.of(path).orElseThrow();
              if (!released.containsKey(path) && v.compareTo(newest) <= 0) {
                out.add(
                    String.format(
                        "%s is new and has version %s, not above the newest released migration"
                            + " (%s): Flyway would refuse it on catalogs already at %s. Number it V%d"
                            + " or above; when it is released, add its line to %s:\n%s  %s",
                        path, v, newest, newest, newest.parts().get(0) + 1, MANIFEST, sha, path));
              }
            });
    for (String vendor : List.of("postgresql", "sqlite")) {
      Map<Version, String> seen = new TreeMap<>();
      for (String path : new TreeMap<>(current).keySet()) {
        String folder = path.startsWith(SQL_ROOT + "/") ? path.split("/")[3] : "java";
        if (!folder.equals(vendor) && !folder.equals("common") && !folder.equals("java")) {
          continue;
        }
        Version v = Version.of(path).orElseThrow();
        String other = seen.putIfAbsent(v, path);
        if (other != null) {
          out.add(
              String.format(
                  "version %s is used twice for %s: %s and %s. Give one of them the next free"
                      + " number.",
                  v, vendor, other, path));
        }
      }
    }
    return out;
  }

  /** The released migrations, from {@value #MANIFEST}: path to sha256. */
  static Map<String, String> released() {
    Map<String, String> out = new LinkedHashMap<>();
    try (InputStream in = MigrationsTest.class.getClassLoader().getResourceAsStream(MANIFEST)) {
      Objects.requireNonNull(in, MANIFEST + " is not on the test class path");
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] parts = line.trim().split("\\s+", 2);
        out.put(parts[1], parts[0]);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * The migrations Flyway finds now: the SQL files under {@value #SQL_ROOT} on the class path and
   * the Java migrations in the source tree; path to sha256.
   */
  static Map<String, String> current() {
    Map<String, String> out = new TreeMap<>();
    try {
      URL root = CatalogDatabase.class.getClassLoader().getResource(SQL_ROOT);
      Objects.requireNonNull(root, SQL_ROOT + " is not on the class path");
      Path base = Path.of(root.toURI()).getParent().getParent().getParent();
      try (Stream<Path> files = Files.walk(Path.of(root.toURI()))) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          out.put(base.relativize(f).toString().replace('\\', '/'), sha(Files.readString(f)));
        }
      }
      try (Stream<Path> files = Files.walk(JAVA_ROOT)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          if (Version.of(f.getFileName().toString()).isPresent()) {
            out.put(f.toString().replace('\\', '/'), sha(Files.readString(f)));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  /** The sha256 of {@code text} with LF line ends, so a Windows checkout hashes the same. */
  static String sha(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256")
                  .digest(text.replace("\r\n", "\n").getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
