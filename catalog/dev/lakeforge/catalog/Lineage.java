package dev.lakeforge.catalog;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Lineage derived from succeeded runs: an edge goes from each input of a run to each of its
 * outputs. Walk it upstream (where did this come from?) or downstream (what was built from this?).
 */
public final class Lineage {
  private final CatalogDatabase db;

  public Lineage(CatalogDatabase db) {
    this.db = db;
  }

  /**
   * One edge.
   *
   * @param from what the run read
   * @param job the run's job
   * @param runId the run
   * @param to what the run wrote
   */
  public record Edge(Artifact from, String job, String runId, Artifact to) {
    @Override
    public String toString() {
      return from + " -[" + job + "]-> " + to;
    }
  }

  /** Which way to walk. */
  public enum Direction {
    UPSTREAM,
    DOWNSTREAM
  }

  /**
   * Every edge reachable from {@code start} in {@code direction}, nearest first. A start without a
   * version matches every version of it.
   */
  public List<Edge> walk(Artifact start, Direction direction) {
    return db.read(
        "read lineage of " + start,
        c -> {
          Set<Edge> edges = new LinkedHashSet<>();
          Set<Artifact> seen = new LinkedHashSet<>();
          Deque<Artifact> todo = new ArrayDeque<>(List.of(start));
          boolean up = direction == Direction.UPSTREAM;
          String near = up ? "to" : "from";
          String sql =
              "SELECT from_kind, from_name, from_version, job, run_id, to_kind, to_name, to_version FROM lineage"
                  + " WHERE "
                  + near
                  + "_kind = ? AND "
                  + near
                  + "_name = ?"
                  + " AND (? = '' OR "
                  + near
                  + "_version = ?) ORDER BY at, run_id";
          while (!todo.isEmpty()) {
            Artifact a = todo.poll();
            if (!seen.add(a)) {
              continue;
            }
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              ps.setString(1, a.kind().label());
              ps.setString(2, a.name());
              ps.setString(3, a.version());
              ps.setString(4, a.version());
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  Edge e =
                      new Edge(
                          artifact(rs.getString(1), rs.getString(2), rs.getString(3)),
                              rs.getString(4),
                          rs.getString(5),
                              artifact(rs.getString(6), rs.getString(7), rs.getString(8)));
                  if (edges.add(e)) {
                    todo.add(up ? e.from() : e.to());
                  }
                }
              }
            }
          }
          return new ArrayList<>(edges);
        });
  }

  private static Artifact artifact(String kind, String name, String version) {
    return new Artifact(
        Artifact.Kind.valueOf(kind.toUpperCase(java.util.Locale.ROOT)), name, version);
  }
}
