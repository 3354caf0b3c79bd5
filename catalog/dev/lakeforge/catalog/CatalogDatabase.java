package dev.lakeforge.catalog;

import dev.lakeforge.core.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Connections to the catalog database: a SQLite file in the home (WAL, busy timeout, so several Lakeforge processes
 * can share it) or PostgreSQL. The password is resolved at run time and never logged.
 */
public final class CatalogDatabase {
  private final String url;
  private final Properties props;

  private CatalogDatabase(String url, Properties props) {
    this.url = url;
    this.props = props;
  }

  /** The catalog database of {@code platform}; creates the home folder for an embedded SQLite catalog. */
  public static CatalogDatabase of(Platform platform) {
    Properties props = new Properties();
    if (platform.sqliteCatalog()) {
      Path file = Path.of(platform.catalogUrl().substring("jdbc:sqlite:".length()));
      try {
        Files.createDirectories(file.toAbsolutePath().getParent());
      } catch (IOException e) {
        throw new CatalogException(
            String.format("Cannot create the folder of the catalog file %s: %s", file, e.getMessage()), e);
      }
      props.setProperty("journal_mode", "WAL");
      props.setProperty("busy_timeout", "30000");
    }
    platform.catalogUser().ifPresent(u -> props.setProperty("user", u));
    platform.catalogPassword().ifPresent(p -> props.setProperty("password", p));
    return new CatalogDatabase(platform.catalogUrl(), props);
  }

  /** A new connection; the caller closes it. */
  public Connection connect() {
    try {
      return DriverManager.getConnection(url, props);
    } catch (SQLException e) {
      throw new CatalogException(
          String.format(
              "Cannot connect to the catalog database %s: %s. Check catalog.url and that the database is up.",
              url, e.getMessage()),
          e);
    }
  }

  /** The JDBC URL (it never holds a password). */
  public String url() {
    return url;
  }
}
