package dev.lakeforge.catalog;

import dev.lakeforge.core.TableName;
import java.time.Instant;
import java.util.Objects;

/**
 * A feature set known to the catalog.
 *
 * @param name its name
 * @param outputTable the table it is materialized into
 * @param sourceTable the table it is computed from
 * @param spec the spec's text as registered (YAML)
 * @param sha256 the sha256 of {@code spec}, hex
 * @param registeredBy who registered it first
 * @param updatedAt when it was last registered
 */
public record RegisteredFeatureSet(
    String name,
    TableName outputTable,
    TableName sourceTable,
    String spec,
    String sha256,
    String registeredBy,
    Instant updatedAt) {
  public RegisteredFeatureSet {
    Objects.requireNonNull(name, "name is null");
    Objects.requireNonNull(outputTable, "outputTable is null");
    Objects.requireNonNull(sourceTable, "sourceTable is null");
    Objects.requireNonNull(spec, "spec is null");
    Objects.requireNonNull(sha256, "sha256 is null");
    Objects.requireNonNull(registeredBy, "registeredBy is null");
    Objects.requireNonNull(updatedAt, "updatedAt is null");
  }
}
