package dev.lakeforge.testing;

import dev.lakeforge.catalog.CatalogDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The databases the catalog tests run against: a SQLite file in a temp folder, and a real
 * PostgreSQL server whose URL is in {@value #POSTGRES_URL_ENV} ({@code .ci/postgres start} prints
 * it). Each test gets a fresh database (SQLite) or schema (PostgreSQL). Without the URL the
 * PostgreSQL cases fail under CI ({@code CI} set) and are skipped elsewhere.
 */
public enum CatalogBackend {
  SQLITE,
  POSTGRESQL;

  /** Environment variable with the JDBC URL of the test PostgreSQL database. */
  public static final String POSTGRES_URL_ENV = "LAKEFORGE_TEST_POSTGRES_URL";

  /** A fresh, migrated catalog database. */
  public CatalogDatabase open(Path tempDir) {
    if (this == SQLITE) {
      return CatalogDatabase.open(
          "jdbc:sqlite:" + tempDir.resolve("catalog-" + UUID.randomUUID() + ".db"),
          Optional.empty(),
          Optional.empty());
    }
    String url = postgresUrl();
    String schema = "lf_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "Cannot create a test schema on " + url + ": " + e.getMessage(), e);
    }
    return CatalogDatabase.open(
        url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema,
        Optional.empty(),
        Optional.empty());
  }

  /** The test PostgreSQL URL; fails under CI and skips elsewhere when it is not set. */
  public static String postgresUrl() {
    String url = System.getenv(POSTGRES_URL_ENV);
    if (url == null || url.isBlank()) {
      String why =
          POSTGRES_URL_ENV + " is not set: start a server with eval \"$(.ci/postgres start)\".";
      if (System.getenv("CI") != null) {
        Assertions.fail(why);
      }
      Assumptions.abort(why);
    }
    return url;
  }
}
