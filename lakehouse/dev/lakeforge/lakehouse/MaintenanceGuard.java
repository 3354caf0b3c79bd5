package dev.lakeforge.lakehouse;

import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.core.TableName;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The second wall around maintenance, for tables that already exist: Delta {@code VACUUM} deletes
 * every file under the table's folder that its log does not track, and Iceberg {@code
 * remove_orphan_files} every file under its location that its metadata does not reference. So a
 * table is maintained only if its folder (as registered, and as the format reports it) neither
 * equals nor contains another registered table's folder, a warehouse root, the model store or the
 * catalog's files. {@link ApplyTablesJob} refuses such locations for new tables; this catches
 * tables registered before that check, or by other means.
 */
final class MaintenanceGuard {
  private MaintenanceGuard() {}

  /**
   * Refuses, before any of them is touched, to maintain {@code specs} if one of them would share
   * files with another table or the platform; the error names each table, its location, what it
   * contains and the fix.
   */
  static void check(Lakehouse lh, List<TableSpec> specs) {
    List<String> problems = new ArrayList<>();
    List<Locations.Area> areas = Locations.platformAreas(lh.platform());
    List<RegisteredTable> registered = lh.registry().list();
    for (TableSpec spec : specs) {
      TableName t = spec.name();
      for (Locations.Location loc : locations(lh, spec)) {
        for (Locations.Area area : areas) {
          if (area.conflictsWithTable(loc)) {
            problems.add(
                String.format(
                    "  - table %s at %s: its location %s %s. Recreate the table in a folder of its"
                        + " own (e.g. the default %s/%s/%s/%s), copy its data over and drop this"
                        + " one; maintenance will not run on it until then.",
                    t,
                    loc,
                    loc.equals(area.location())
                        ? "is"
                        : loc.contains(area.location()) ? "contains" : "lies inside",
                    area,
                    lh.platform().warehouse(),
                    spec.format().label(),
                    t.namespace(),
                    t.table()));
          }
        }
        for (RegisteredTable other : registered) {
          if (other.name().equals(t)) {
            continue;
          }
          Locations.Location theirs;
          try {
            theirs = Locations.of(other.location());
          } catch (IllegalArgumentException e) {
            continue; // a location we cannot read back shares nothing we can name
          }
          if (loc.contains(theirs)) {
            problems.add(
                String.format(
                    "  - table %s at %s: its location %s the location of table %s (%s), whose"
                        + " files it does not track. Move one of the two tables to a folder of its"
                        + " own (recreate it there and drop the old one) before maintaining %s.",
                    t, loc, loc.equals(theirs) ? "equals" : "contains", other.name(), theirs, t));
          }
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new LakehouseException(
          specs.size() == 1 ? specs.get(0).name() : null,
          "Refusing to maintain: VACUUM / remove_orphan_files delete every file under a table's"
              + " location that the table does not track, and these locations hold other files; no"
              + " table was changed:\n"
              + String.join("\n", problems));
    }
  }

  /** Where the table's files are: as registered, and as the format itself reports it. */
  private static Set<Locations.Location> locations(Lakehouse lh, TableSpec spec) {
    Set<Locations.Location> out = new LinkedHashSet<>();
    lh.registry().find(spec.name()).ifPresent(r -> parse(spec.name(), r.location(), out));
    if (lh.exists(spec.name(), spec.format())) {
      lh.state(spec.name(), spec.format())
          .property("location")
          .ifPresent(l -> parse(spec.name(), l, out));
    }
    return out;
  }

  private static void parse(TableName table, String location, Set<Locations.Location> out) {
    try {
      out.add(Locations.of(location));
    } catch (IllegalArgumentException e) {
      throw new LakehouseException(
          table,
          String.format(
              "Refusing to maintain %s: its location '%s' cannot be read (%s), so it cannot be"
                  + " checked against other tables' files. Fix the location in the catalog or"
                  + " re-apply the spec.",
              table, location, e.getMessage()),
          e);
    }
  }
}
