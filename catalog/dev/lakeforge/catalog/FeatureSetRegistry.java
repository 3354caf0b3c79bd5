package dev.lakeforge.catalog;

import dev.lakeforge.core.TableName;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The catalog's list of feature sets ({@code lakeforge features apply}): each one's spec text, its
 * sha256, and the tables it reads and writes. Registering is audited ({@code feature-set.apply}).
 * Whoever calls {@link #put} has checked the privileges on those tables.
 */
public final class FeatureSetRegistry {
  private final CatalogDatabase db;

  public FeatureSetRegistry(CatalogDatabase db) {
    this.db = db;
  }

  /**
   * Adds or replaces feature set {@code name}; the first principal to register it stays its
   * registrant. Returns the entry as stored.
   */
  public RegisteredFeatureSet put(
      String name, TableName outputTable, TableName sourceTable, String spec, Principal by) {
    String now = Instant.now().toString();
    String sha = sha256(spec);
    String sql =
        "INSERT INTO feature_sets (name, output_table, source_table, spec, spec_sha256,"
            + " registered_by, registered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (name) DO UPDATE SET output_table = excluded.output_table,"
            + " source_table = excluded.source_table, spec = excluded.spec,"
            + " spec_sha256 = excluded.spec_sha256, updated_at = excluded.updated_at";
    db.inTransaction(
        "register feature set " + name,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            ps.setString(2, outputTable.toString());
            ps.setString(3, sourceTable.toString());
            ps.setString(4, spec);
            ps.setString(5, sha);
            ps.setString(6, by.name());
            ps.setString(7, now);
            ps.setString(8, now);
            ps.executeUpdate();
          }
          AuditLog.append(
              c,
              by,
              "feature-set.apply",
              "feature-set:" + name,
              AuditLog.DONE,
              "sha256 " + sha + ", materialized into " + outputTable);
          return null;
        });
    return find(name).orElseThrow();
  }

  /** The entry for {@code name}, if registered. */
  public Optional<RegisteredFeatureSet> find(String name) {
    List<RegisteredFeatureSet> rows = query("WHERE name = ?", name);
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
  }

  /** Every registered feature set, by name. */
  public List<RegisteredFeatureSet> list() {
    return query("", null);
  }

  /** The sha256 of {@code text} (UTF-8), hex. */
  public static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  private List<RegisteredFeatureSet> query(String where, String arg) {
    String sql =
        "SELECT name, output_table, source_table, spec, spec_sha256, registered_by, updated_at"
            + " FROM feature_sets "
            + where
            + " ORDER BY name";
    return db.read(
        "read the feature sets",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (arg != null) {
              ps.setString(1, arg);
            }
            List<RegisteredFeatureSet> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(
                    new RegisteredFeatureSet(
                        rs.getString(1),
                        TableName.parse(rs.getString(2)),
                        TableName.parse(rs.getString(3)),
                        rs.getString(4),
                        rs.getString(5),
                        rs.getString(6),
                        Instant.parse(rs.getString(7))));
              }
            }
            return out;
          }
        });
  }
}
