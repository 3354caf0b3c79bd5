package dev.lakeforge.catalog;

import dev.lakeforge.core.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.postgresql.ds.PGSimpleDataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The catalog database: a SQLite file in the home (WAL, busy timeout and immediate transactions, so
 * several Lakeforge processes can share it) or PostgreSQL. Its schema is kept by versioned Flyway
 * migrations ({@code lakeforge/catalog/migration/<vendor>/V*.sql} for dialect-specific steps,
 * {@code .../common/V*.sql} for portable ones, Java migrations in this package), applied once per
 * JVM on first use. Every open checks that the audit log's append-only triggers are in place. The
 * password is resolved at run time and never logged.
 */
public final class CatalogDatabase {
  /**
   * Flyway's history table, named so it cannot clash with the Iceberg JDBC catalog sharing the
   * database.
   */
  static final String HISTORY_TABLE = "lakeforge_schema_history";

  /** The version of the newest migration; a catalog at it is not handed to Flyway again. */
  static final String SCHEMA_VERSION = "9";

  private static final Map<String, Boolean> MIGRATED = new ConcurrentHashMap<>();

  private final String url;
  private final Vendor vendor;
  private final DataSource dataSource;

  /** The databases the catalog runs on. */
  public enum Vendor {
    SQLITE,
    POSTGRESQL
  }

  private CatalogDatabase(String url, Vendor vendor, DataSource dataSource) {
    this.url = url;
    this.vendor = vendor;
    this.dataSource = dataSource;
  }

  /**
   * The catalog database of {@code platform}; creates the home folder for an embedded SQLite
   * catalog.
   */
  public static CatalogDatabase of(Platform platform) {
    return open(platform.catalogUrl(), platform.catalogUser(), platform.catalogPassword());
  }

  /**
   * The catalog database of {@code platform} even when its audit log's triggers are missing: only
   * for {@code lakeforge catalog audit --verify} and {@code --repair-triggers} (see {@link
   * AuditLog#repairTriggers}). Every other command uses {@link #of}.
   */
  public static CatalogDatabase openForRepair(Platform platform) {
    return openForRepair(platform.catalogUrl(), platform.catalogUser(), platform.catalogPassword());
  }

  /** {@link #openForRepair(Platform)} for a JDBC URL. */
  public static CatalogDatabase openForRepair(
      String url, Optional<String> user, Optional<String> password) {
    CatalogDatabase db = connectTo(url, user, password);
    db.migrate();
    return db;
  }

  /**
   * The catalog database at {@code url} ({@code jdbc:sqlite:...} or {@code jdbc:postgresql://...}),
   * brought to the current schema. Throws {@link AuditTriggersMissingException} when the audit
   * log's append-only triggers are missing, disabled or changed.
   */
  public static CatalogDatabase open(String url, Optional<String> user, Optional<String> password) {
    CatalogDatabase db = openForRepair(url, user, password);
    db.requireAuditTriggers();
    return db;
  }

  private void requireAuditTriggers() {
    List<String> missing =
        read("check the audit log's triggers", c -> AuditLog.missingTriggers(c, vendor));
    if (!missing.isEmpty()) {
      throw new AuditTriggersMissingException(url, missing);
    }
  }

  private static CatalogDatabase connectTo(
      String url, Optional<String> user, Optional<String> password) {
    CatalogDatabase db;
    if (url.startsWith("jdbc:sqlite:")) {
      Path file = Path.of(url.substring("jdbc:sqlite:".length()).replaceFirst("\\?.*$", ""));
      try {
        Files.createDirectories(file.toAbsolutePath().getParent());
      } catch (IOException e) {
        throw new CatalogException(
            String.format(
                "Cannot create the folder of the catalog file %s: %s", file, e.getMessage()),
            e);
      }
      Properties props = new Properties();
      props.setProperty("journal_mode", "WAL");
      props.setProperty("busy_timeout", "30000");
      // Writers take the lock when their transaction begins, so two read-then-write transactions
      // never deadlock.
      props.setProperty("transaction_mode", "IMMEDIATE");
      props.setProperty("foreign_keys", "true");
      SQLiteDataSource ds = new SQLiteDataSource(new SQLiteConfig(props));
      ds.setUrl(url);
      db = new CatalogDatabase(url, Vendor.SQLITE, ds);
    } else if (url.startsWith("jdbc:postgresql:")) {
      PGSimpleDataSource ds = new PGSimpleDataSource();
      ds.setUrl(url);
      user.ifPresent(ds::setUser);
      password.ifPresent(ds::setPassword);
      db = new CatalogDatabase(url, Vendor.POSTGRESQL, ds);
    } else {
      throw new CatalogException(
          String.format(
              "catalog.url %s is not supported: use jdbc:sqlite:/path/catalog.db or jdbc:postgresql://host:port/db.",
              url),
          null);
    }
    return db;
  }

  private void migrate() {
    if (MIGRATED.containsKey(url)) {
      return;
    }
    synchronized (MIGRATED) {
      if (MIGRATED.containsKey(url)) {
        return;
      }
      if (atCurrentSchema()) {
        MIGRATED.put(url, true);
        return;
      }
      Flyway flyway =
          Flyway.configure(CatalogDatabase.class.getClassLoader())
              .dataSource(dataSource)
              .locations(
                  "classpath:lakeforge/catalog/migration/"
                      + vendor.name().toLowerCase(java.util.Locale.ROOT),
                  "classpath:lakeforge/catalog/migration/common")
              .javaMigrations(new V6__Audit_log_hash_chain())
              .table(HISTORY_TABLE)
              // The Iceberg JDBC catalog may already have its tables in this database.
              .baselineOnMigrate(true)
              .baselineVersion("0")
              .load();
      try {
        flyway.migrate();
      } catch (FlywayException first) {
        // Another process may have been migrating the same fresh database at the same moment; its
        // work is done now.
        try {
          flyway.migrate();
        } catch (FlywayException e) {
          throw new CatalogException(
              String.format(
                  "Cannot bring the catalog database %s to the current schema: %s",
                  url, e.getMessage()),
              e);
        }
      }
      MIGRATED.put(url, true);
    }
  }

  /**
   * Whether the schema is already at {@link #SCHEMA_VERSION}: one query on Flyway's history table,
   * so a command on a current catalog does not pay for loading Flyway and validating every
   * migration (bench/RESULTS.md, "Startup cost"). Anything else — no history yet, an older or a
   * failed migration — goes through Flyway.
   */
  boolean atCurrentSchema() {
    try (Connection c = dataSource.getConnection();
        java.sql.Statement st = c.createStatement();
        java.sql.ResultSet rs =
            st.executeQuery(
                "SELECT version, success FROM "
                    + HISTORY_TABLE
                    + " WHERE version IS NOT NULL ORDER BY installed_rank DESC")) {
      if (!rs.next()) {
        return false;
      }
      return SCHEMA_VERSION.equals(rs.getString(1)) && rs.getBoolean(2);
    } catch (SQLException e) {
      return false; // no history table yet: a fresh database
    }
  }

  /** A new connection; the caller closes it. */
  public Connection connect() {
    try {
      return dataSource.getConnection();
    } catch (SQLException e) {
      throw new CatalogException(
          String.format(
              "Cannot connect to the catalog database %s: %s. Check catalog.url and that the database is up.",
              url, e.getMessage()),
          e);
    }
  }

  /** Work done inside one transaction. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code work} in one transaction: all of it commits, or none of it. On SQLite the
   * transaction takes the database's write lock when it begins ({@code IMMEDIATE}), so every other
   * writer, and every access check's audit row, waits until it ends: keep it to SQL. File copies,
   * uploads, hashing, model loading and network calls belong before it (see {@link
   * ModelRegistry#register}); reads belong in {@link #read}.
   */
  public <T> T inTransaction(String what, Work<T> work) {
    try (Connection c = connect()) {
      return committed(c, work);
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  /** Runs {@code work} on {@code c} as one transaction: commits it, or rolls back and rethrows. */
  private static <T> T committed(Connection c, Work<T> work) throws SQLException {
    c.setAutoCommit(false);
    try {
      T result = work.run(c);
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    }
  }

  /** Work that is given what a read found. */
  @FunctionalInterface
  public interface Then<R, T> {
    T run(Connection c, R found) throws SQLException;
  }

  /**
   * Runs {@code read} in auto-commit mode (as {@link #read} does), then {@code write} with what it
   * found in one transaction (as {@link #inTransaction} does), on one connection: for a decision
   * that is read and then recorded by a short write, like an access check and its audit row. On
   * SQLite the write lock is held for {@code write} only. What {@code read} found may have changed
   * by the time {@code write} runs: {@code write} reads again whatever must not have.
   */
  public <R, T> T readThenWrite(String what, Work<R> read, Then<R, T> write) {
    try (Connection c = connect()) {
      R found = read.run(c);
      return committed(c, tx -> write.run(tx, found));
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  /**
   * Runs {@code work} on a connection in auto-commit mode: for reads, which take no write lock (on
   * SQLite, WAL lets them run beside a writer); each statement sees the latest committed data.
   */
  public <T> T read(String what, Work<T> work) {
    try (Connection c = connect()) {
      return work.run(c);
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  CatalogException failure(String what, SQLException e) {
    return new CatalogException(
        String.format("Cannot %s in the catalog %s: %s", what, url, e.getMessage()), e);
  }

  public Vendor vendor() {
    return vendor;
  }

  /** The JDBC URL (it never holds a password). */
  public String url() {
    return url;
  }
}
