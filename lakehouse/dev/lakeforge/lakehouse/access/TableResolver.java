package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.TableName;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Which registered table a resolved relation is: by its catalog and identifier, or by the folder it
 * reads. Anything it cannot name is no registered table, and reading it needs ADMIN.
 */
final class TableResolver {
  private final String icebergCatalog;
  private final java.util.function.Supplier<List<RegisteredTable>> registry;
  private Map<String, RegisteredTable> byName;
  private Map<String, TableName> byLocation;

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
      byLocation.put(normalize(t.location()), t.name());
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

  /** The registered table whose location is exactly {@code path}. */
  Optional<TableName> byLocation(String path) {
    load();
    return Optional.ofNullable(byLocation.get(normalize(path)));
  }

  /** The registered table whose folder holds {@code path} (a metadata or data file of it). */
  Optional<TableName> containing(String path) {
    load();
    String p;
    try {
      p = normalize(path.replaceFirst("#.*$", ""));
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // not a path
    }
    for (Map.Entry<String, TableName> e : byLocation.entrySet()) {
      if (p.equals(e.getKey()) || p.startsWith(e.getKey() + "/")) {
        return Optional.of(e.getValue());
      }
    }
    return Optional.empty();
  }

  private Optional<TableName> registered(String ns, String table, String format) {
    load();
    RegisteredTable t = byName.get(ns + "." + table);
    return t != null && t.format().equals(format) ? Optional.of(t.name()) : Optional.empty();
  }

  /** {@code /a/b/}, {@code file:/a/b} and {@code file:///a/b} are one folder; s3a:// as given. */
  static String normalize(String path) {
    String p = path.trim();
    while (p.length() > 1 && p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    URI u = URI.create(p.replace(" ", "%20"));
    if (u.getScheme() == null || u.getScheme().equals("file")) {
      return "file:" + URI.create("file://" + u.getPath()).normalize().getPath();
    }
    return u.normalize().toString();
  }
}
