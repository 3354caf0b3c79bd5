package dev.lakeforge.lakehouse;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.types.AtomicType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A declarative table ({@code conf/tables/*.yaml}), validated when built: every column has a known
 * type, the primary key and partition columns exist, key columns are not nullable, and no property
 * uses the reserved {@value #RESERVED_PREFIX} prefix.
 *
 * @param name {@code namespace.table}
 * @param format delta or iceberg
 * @param description what the table holds
 * @param columns the columns, in order
 * @param primaryKey columns that identify a row; required for merge ingest
 * @param partitionBy identity-partition columns
 * @param properties table properties passed to the format (e.g. {@code delta.enableChangeDataFeed})
 * @param retention history kept by maintenance
 * @param location explicit table location (e.g. {@code s3a://bucket/path}); default a folder in the
 *     warehouse
 */
public record TableSpec(
    @JsonProperty("name") TableName name,
    @JsonProperty("format") TableFormat format,
    @JsonProperty("description") Optional<String> description,
    @JsonProperty("columns") List<ColumnSpec> columns,
    @JsonProperty("primary-key") List<String> primaryKey,
    @JsonProperty("partition-by") List<String> partitionBy,
    @JsonProperty("properties") Map<String, String> properties,
    @JsonProperty("retention") Retention retention,
    @JsonProperty("location") Optional<String> location) {

  /** Table properties under this prefix are written by Lakeforge itself. */
  public static final String RESERVED_PREFIX = "lakeforge.";

  /** Table property holding the comma-separated primary key. */
  public static final String PRIMARY_KEY_PROPERTY = "lakeforge.primary-key";

  public TableSpec {
    if (name == null) {
      throw new SpecException("field `name` is missing: add `name: namespace.table`.");
    }
    if (format == null) {
      throw new SpecException(
          String.format(
              "table %s: field `format` is missing: add `format: delta` or `format: iceberg`.",
              name));
    }
    if (columns == null || columns.isEmpty()) {
      throw new SpecException(
          String.format("table %s: `columns` is empty: declare at least one column.", name));
    }
    if (name.namespace().equals("lakeforge")) {
      throw new SpecException(
          String.format(
              "table %s: the namespace 'lakeforge' is reserved for SQL over the catalog (lakeforge.models, ...):"
                  + " choose another namespace.",
              name));
    }
    columns = List.copyOf(columns);
    description = description == null ? Optional.empty() : description;
    primaryKey = primaryKey == null ? List.of() : List.copyOf(primaryKey);
    partitionBy = partitionBy == null ? List.of() : List.copyOf(partitionBy);
    properties = properties == null ? Map.of() : Map.copyOf(new TreeMap<>(properties));
    retention = retention == null ? Retention.DEFAULT : retention;
    location = location == null ? Optional.empty() : location;

    Map<String, ColumnSpec> byName = new LinkedHashMap<>();
    for (ColumnSpec c : columns) {
      if (byName.put(c.name(), c) != null) {
        throw new SpecException(
            String.format("table %s: column `%s` is declared twice.", name, c.name()));
      }
    }
    if (format == TableFormat.ICEBERG) {
      for (ColumnSpec c : columns) {
        if (c.type().matches(".*\\b(tinyint|smallint|byte|short)\\b.*")) {
          throw new SpecException(
              String.format(
                  "table %s: column `%s` has type %s, which Iceberg does not have: use int.",
                  name, c.name(), c.type()));
        }
      }
    }
    checkKeyColumns(name, "primary-key", primaryKey, byName);
    for (String k : primaryKey) {
      if (byName.get(k).nullable()) {
        throw new SpecException(
            String.format(
                "table %s: primary-key column `%s` is nullable: declare it with `nullable: false`.",
                name, k));
      }
    }
    checkKeyColumns(name, "partition-by", partitionBy, byName);
    for (String p : partitionBy) {
      if (!(byName.get(p).dataType() instanceof AtomicType)) {
        throw new SpecException(
            String.format(
                "table %s: partition-by column `%s` has type %s: partition by a simple column (string, int, date…).",
                name, p, byName.get(p).type()));
      }
    }
    for (String key : properties.keySet()) {
      if (key.startsWith(RESERVED_PREFIX)) {
        throw new SpecException(
            String.format(
                "table %s: property `%s` uses the reserved prefix '%s': Lakeforge sets those itself. Rename it.",
                name, key, RESERVED_PREFIX));
      }
    }
    retention.checkProperties(name, format, properties);
  }

  @JsonCreator
  static TableSpec create(
      @JsonProperty("name") TableName name,
      @JsonProperty("format") TableFormat format,
      @JsonProperty("description") Optional<String> description,
      @JsonProperty("columns") List<ColumnSpec> columns,
      @JsonProperty("primary-key") List<String> primaryKey,
      @JsonProperty("partition-by") List<String> partitionBy,
      @JsonProperty("properties") Map<String, String> properties,
      @JsonProperty("retention") Retention retention,
      @JsonProperty("location") Optional<String> location) {
    return new TableSpec(
        name,
        format,
        description,
        columns,
        primaryKey,
        partitionBy,
        properties,
        retention,
        location);
  }

  private static void checkKeyColumns(
      TableName name, String field, List<String> keys, Map<String, ColumnSpec> byName) {
    Set<String> seen = new HashSet<>();
    for (String k : keys) {
      if (!byName.containsKey(k)) {
        throw new SpecException(
            String.format(
                "table %s: %s names column `%s`, which is not in `columns` (%s).",
                name, field, k, String.join(", ", byName.keySet())));
      }
      if (!seen.add(k)) {
        throw new SpecException(String.format("table %s: %s lists `%s` twice.", name, field, k));
      }
    }
  }

  /** The column called {@code column}, if declared. */
  public Optional<ColumnSpec> column(String column) {
    return columns.stream().filter(c -> c.name().equals(column)).findFirst();
  }

  /** The table's schema as Spark sees it (with column comments). */
  @JsonIgnore
  public StructType schema() {
    StructField[] fields =
        columns.stream()
            .map(
                c -> {
                  Metadata md =
                      c.comment()
                          .map(cm -> new MetadataBuilder().putString("comment", cm).build())
                          .orElse(Metadata.empty());
                  return new StructField(c.name(), c.dataType(), c.nullable(), md);
                })
            .toArray(StructField[]::new);
    return new StructType(fields);
  }

  /**
   * The properties Lakeforge stores on the table: the spec's own, the reserved ones, and those that
   * make the format's own cleanup keep the retention ({@link Retention#tableProperties}) unless the
   * spec sets them itself (it may only set them longer).
   */
  @JsonIgnore
  public Map<String, String> tableProperties() {
    Map<String, String> all = new TreeMap<>(properties);
    retention.tableProperties(format).forEach(all::putIfAbsent);
    if (!primaryKey.isEmpty()) {
      all.put(PRIMARY_KEY_PROPERTY, String.join(",", primaryKey));
    }
    all.put("lakeforge.retention.days", Integer.toString(retention.days()));
    all.put("lakeforge.retention.versions", Integer.toString(retention.versions()));
    return all;
  }
}
