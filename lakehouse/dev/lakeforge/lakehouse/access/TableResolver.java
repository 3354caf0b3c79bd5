package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.Locations;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.delta.catalog.DeltaTableV2;
import org.apache.spark.sql.delta.files.TahoeFileIndex;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2ScanRelation;

/**
 * Which registered table a resolved relation is: by its catalog and identifier, or by the folder it
 * reads. Anything it cannot name is no registered table, and reading it needs ADMIN.
 */
final class TableResolver {
  private final String icebergCatalog;
  private final java.util.function.Supplier<List<RegisteredTable>> registry;
  private Map<String, RegisteredTable> byName;
  private Map<Locations.Location, TableName> byLocation;

  /** Reads {@code registry} on first use only. */
  TableResolver(
      java.util.function.Supplier<List<RegisteredTable>> registry, String icebergCatalog) {
    this.icebergCatalog = icebergCatalog.toLowerCase(Locale.ROOT);
    this.registry = registry;
  }

  private void load() {
    if (byName != null) {
      return;
    }
    byName = new HashMap<>();
    byLocation = new HashMap<>();
    for (RegisteredTable t : registry.get()) {
      byName.put(t.name().toString(), t);
      location(t.location()).ifPresent(l -> byLocation.put(l, t.name()));
    }
  }

  /**
   * The registered table {@code catalog.namespace.name} is, also for a metadata table of an Iceberg
   * table ({@code iceberg.ns.t.snapshots}) and the catalog's own tables ({@code lakeforge.models}),
   * which count as tables of the namespace {@code lakeforge}.
   */
  Optional<TableName> byIdentifier(String catalog, List<String> namespace, String name) {
    String cat = catalog.toLowerCase(Locale.ROOT);
    List<String> ns = namespace.stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
    String table = name.toLowerCase(Locale.ROOT);
    if (cat.equals(SessionFactory.CATALOG_TABLES) && ns.isEmpty()) {
      return Optional.of(new TableName(SessionFactory.CATALOG_TABLES, table));
    }
    String format =
        cat.equals("spark_catalog") ? "delta" : cat.equals(icebergCatalog) ? "iceberg" : null;
    if (format == null) {
      return Optional.empty();
    }
    if (ns.size() == 1) {
      return registered(ns.get(0), table, format);
    }
    if (ns.size() == 2 && format.equals("iceberg")) { // a metadata table: iceberg.ns.t.snapshots
      return registered(ns.get(0), ns.get(1), format);
    }
    return Optional.empty();
  }

  /** The registered table a resolved relation leaf reads, if it is one. */
  Optional<TableName> relation(LogicalPlan leaf) {
    if (leaf instanceof DataSourceV2Relation r) {
      return v2(r);
    }
    if (leaf instanceof DataSourceV2ScanRelation s) {
      return v2(s.relation());
    }
    if (leaf instanceof LogicalRelation r) {
      if (r.catalogTable().isDefined()) {
        return catalogTable(r.catalogTable().get());
      }
      if (r.relation() instanceof HadoopFsRelation h && h.location() instanceof TahoeFileIndex f) {
        return byLocation(f.path().toString());
      }
    }
    return Optional.empty();
  }

  /** Whether {@code leaf} is an Iceberg metadata table ({@code iceberg.ns.t.snapshots}, ...). */
  static boolean metadataTable(LogicalPlan leaf) {
    return leaf instanceof DataSourceV2Relation r
        && r.identifier().isDefined()
        && r.identifier().get().namespace().length == 2;
  }

  /** The registered table a V2 relation is: a Delta or Iceberg table, or a file inside one. */
  Optional<TableName> v2(DataSourceV2Relation r) {
    if (r.table() instanceof DeltaTableV2 d) {
      return delta(d);
    }
    if (r.catalog().isDefined() && r.identifier().isDefined()) {
      Identifier id = r.identifier().get();
      return byIdentifier(r.catalog().get().name(), Arrays.asList(id.namespace()), id.name());
    }
    if (r.table().getClass().getName().startsWith("org.apache.iceberg.")) {
      // Iceberg's own actions (expire_snapshots, rewrite_data_files) read a table's metadata tables
      // by name (iceberg.ns.t.entries) or its metadata files by path, inside the table's folder.
      List<String> parts = List.of(r.table().name().split("\\."));
      if (parts.size() == 3 || parts.size() == 4) {
        Optional<TableName> t =
            byIdentifier(
                parts.get(0), parts.subList(1, parts.size() - 1), parts.get(parts.size() - 1));
        if (t.isPresent()) {
          return t;
        }
      }
      return containing(r.table().name());
    }
    return Optional.empty();
  }

  /** The registered table a Delta table is, by its catalog entry or its folder. */
  Optional<TableName> delta(DeltaTableV2 d) {
    if (d.catalogTable().isDefined()) {
      return catalogTable(d.catalogTable().get());
    }
    return byLocation(d.path().toString());
  }

  /** The registered table a session-catalog entry names. */
  Optional<TableName> catalogTable(CatalogTable ct) {
    var id = ct.identifier();
    if (id.database().isEmpty()) {
      return Optional.empty();
    }
    String catalog = id.catalog().isDefined() ? id.catalog().get() : "spark_catalog";
    return byIdentifier(catalog, List.of(id.database().get()), id.table());
  }

  /** The registered table whose location is exactly {@code path}. */
  Optional<TableName> byLocation(String path) {
    load();
    return location(path).map(byLocation::get);
  }

  /** The registered table whose folder holds {@code path} (a metadata or data file of it). */
  Optional<TableName> containing(String path) {
    load();
    Optional<Locations.Location> p = location(path.replaceFirst("#.*$", ""));
    if (p.isEmpty()) {
      return Optional.empty();
    }
    return byLocation.entrySet().stream()
        .filter(e -> e.getKey().contains(p.get()))
        .map(Map.Entry::getValue)
        .findFirst();
  }

  private Optional<TableName> registered(String ns, String table, String format) {
    load();
    RegisteredTable t = byName.get(ns + "." + table);
    return t != null && t.format().equals(format) ? Optional.of(t.name()) : Optional.empty();
  }

  /** The location {@code path} names, as {@link Locations} compares folders; empty if no path. */
  private static Optional<Locations.Location> location(String path) {
    try {
      return Optional.of(Locations.of(path));
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // a table name such as iceberg.ns.t, not a path
    }
  }

  /**
   * Delta reading its own log and checkpoints (never a user's read: SQL cannot build this index).
   */
  static boolean deltaLogRead(LogicalPlan leaf) {
    return leaf instanceof LogicalRelation r
        && r.relation() instanceof HadoopFsRelation h
        && h.location().getClass().getName().equals("org.apache.spark.sql.delta.DeltaLogFileIndex");
  }
}
