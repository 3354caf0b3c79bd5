package dev.lakeforge.lakehouse;

import dev.lakeforge.core.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where files live, compared the way the file system sees them: {@code /wh/a}, {@code file:/wh/a},
 * {@code file:///wh/a/} and {@code /wh/x/../a} are one location; {@code s3://}, {@code s3n://} and
 * {@code s3a://} name the same bucket; containment goes by whole path segments, so {@code /wh/a}
 * never contains {@code /wh/ab}. A relative local path is resolved against the working directory
 * (as Hadoop's local file system does) and symbolic links in the part of a local path that exists
 * are followed, so a link cannot hide where a path really points.
 */
public final class Locations {
  private static final String GLOB_CHARS = "*?[]{}\\";

  private Locations() {}

  /**
   * A normalised location.
   *
   * @param scheme lower-case scheme: {@code file} for local paths, {@code s3a} for any S3 scheme
   * @param authority the bucket or host, lower case; empty for local paths
   * @param segments the path's segments, without empty, {@code .} or {@code ..} segments
   */
  public record Location(String scheme, String authority, List<String> segments) {
    public Location {
      Objects.requireNonNull(scheme, "scheme is null");
      Objects.requireNonNull(authority, "authority is null");
      segments = List.copyOf(segments);
    }

    /** Whether {@code other} is this location or lies inside it. */
    public boolean contains(Location other) {
      return scheme.equals(other.scheme)
          && authority.equals(other.authority)
          && other.segments.size() >= segments.size()
          && other.segments.subList(0, segments.size()).equals(segments);
    }

    /** Whether one of the two contains the other (they share files). */
    public boolean overlaps(Location other) {
      return contains(other) || other.contains(this);
    }

    /** The local path, if this is a local location. */
    public Optional<Path> localPath() {
      return scheme.equals("file")
          ? Optional.of(Path.of("/" + String.join("/", segments)))
          : Optional.empty();
    }

    /** {@code file:/a/b} or {@code s3a://bucket/a/b}; {@link Locations#of} parses it back. */
    @Override
    public String toString() {
      String path = "/" + String.join("/", segments);
      return scheme.equals("file") ? "file:" + path : scheme + "://" + authority + path;
    }
  }

  /**
   * A place of the platform that tables and raw files must keep out of.
   *
   * @param description what it is, for messages (e.g. {@code the model store})
   * @param location where it is
   * @param holdsTables whether table folders may lie inside it (the warehouse roots): then only a
   *     location that equals or contains it conflicts with it
   */
  public record Area(String description, Location location, boolean holdsTables) {
    public Area {
      Objects.requireNonNull(description, "description is null");
      Objects.requireNonNull(location, "location is null");
    }

    /** Whether a table at {@code table} would share files with this area. */
    public boolean conflictsWithTable(Location table) {
      return table.contains(location) || (!holdsTables && location.contains(table));
    }

    @Override
    public String toString() {
      return description + " (" + location + ")";
    }
  }

  /**
   * Parses a path or URI as Hadoop's {@code Path} does: a plain path ({@code /a/b}, or relative to
   * the working directory), a {@code file:} URI, or a scheme-qualified URI such as {@code
   * s3a://bucket/prefix}. Nothing is percent-decoded and {@code ?} is no query: both are part of
   * the path, as they are to Hadoop.
   *
   * @throws IllegalArgumentException naming the location if it cannot be parsed
   */
  public static Location of(String location) {
    Objects.requireNonNull(location, "location is null");
    String s = location.trim();
    if (s.isEmpty()) {
      throw new IllegalArgumentException("the location is empty");
    }
    int colon = s.indexOf(':');
    int slash = s.indexOf('/');
    if (colon <= 0
        || (slash >= 0 && slash < colon)
        || !s.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
      return local(s);
    }
    String scheme = s.substring(0, colon).toLowerCase(Locale.ROOT);
    String rest = s.substring(colon + 1);
    String authority = "";
    if (rest.startsWith("//")) {
      int end = rest.indexOf('/', 2);
      authority = end < 0 ? rest.substring(2) : rest.substring(2, end);
      rest = end < 0 ? "/" : rest.substring(end);
    }
    if (scheme.equals("file")) {
      return local(rest); // the host of a file: URI is ignored, as Hadoop does
    }
    if (scheme.equals("s3") || scheme.equals("s3n")) {
      scheme = "s3a";
    }
    if (scheme.equals("s3a") && authority.isEmpty()) {
      throw new IllegalArgumentException(
          String.format("'%s' names no bucket: write it as s3a://bucket/path", location));
    }
    return new Location(scheme, authority.toLowerCase(Locale.ROOT), segments(rest));
  }

  /**
   * The location that holds every file a path or glob can match: the path up to its first segment
   * with a glob character ({@code * ? [ ] { } \}), after {@code ..} segments are resolved as Hadoop
   * resolves them. A path without glob characters is returned whole.
   */
  public static Location globPrefix(String pathOrGlob) {
    Location loc = of(pathOrGlob);
    List<String> prefix = new ArrayList<>();
    for (String seg : loc.segments()) {
      if (isGlob(seg)) {
        break;
      }
      prefix.add(seg);
    }
    return new Location(loc.scheme(), loc.authority(), prefix);
  }

  /** Whether {@code path} holds a glob character ({@code * ? [ ] { } \}). */
  public static boolean isGlob(String path) {
    return path.chars().anyMatch(c -> GLOB_CHARS.indexOf(c) >= 0);
  }

  /**
   * The places of {@code platform} that a table location, an ingest source or a bad-rows folder
   * must keep out of: the warehouse and Iceberg warehouse roots (tables may lie inside them), the
   * model store, the embedded catalog's database files and the catalog password file.
   */
  public static List<Area> platformAreas(Platform platform) {
    List<Area> areas = new ArrayList<>();
    areas.add(new Area("the warehouse root", of(platform.warehouse()), true));
    areas.add(new Area("the Iceberg warehouse root", of(platform.icebergWarehouse()), true));
    areas.add(new Area("the model store", of(platform.modelStore()), false));
    catalogFile(platform)
        .ifPresent(
            db -> {
              for (String suffix : List.of("", "-wal", "-shm", "-journal")) {
                areas.add(new Area("the catalog database file", of(db + suffix), false));
              }
            });
    platform
        .passwordFile()
        .ifPresent(f -> areas.add(new Area("the catalog password file", of(f), false)));
    return List.copyOf(areas);
  }

  /** The embedded SQLite catalog's database file, if the catalog is one. */
  static Optional<String> catalogFile(Platform platform) {
    if (!platform.sqliteCatalog()) {
      return Optional.empty();
    }
    String file = platform.catalogUrl().substring("jdbc:sqlite:".length());
    int query = file.indexOf('?');
    file = query < 0 ? file : file.substring(0, query);
    return file.isEmpty() || file.startsWith(":memory:") ? Optional.empty() : Optional.of(file);
  }

  private static Location local(String path) {
    String absolute =
        path.startsWith("/") ? path : Path.of("").toAbsolutePath().toString() + "/" + path;
    return resolveLinks(new Location("file", "", segments(absolute)));
  }

  /** Follows symbolic links in the longest existing part of a local location. */
  private static Location resolveLinks(Location loc) {
    if (!loc.scheme().equals("file")) {
      return loc;
    }
    List<String> segs = loc.segments();
    try {
      for (int n = segs.size(); n >= 0; n--) {
        Path head = Path.of("/" + String.join("/", segs.subList(0, n)));
        if (Files.exists(head)) {
          List<String> out = new ArrayList<>();
          head.toRealPath().forEach(seg -> out.add(seg.toString()));
          out.addAll(segs.subList(n, segs.size()));
          return new Location("file", "", out);
        }
      }
    } catch (IOException | java.nio.file.InvalidPathException e) {
      // unreadable or not a valid local name: the lexical form is the best we know
    }
    return loc;
  }

  /** The path's segments with {@code .} and {@code ..} resolved lexically. */
  private static List<String> segments(String path) {
    List<String> out = new ArrayList<>();
    for (String seg : path.split("/")) {
      if (seg.isEmpty() || seg.equals(".")) {
        continue;
      }
      if (seg.equals("..")) {
        if (!out.isEmpty()) {
          out.remove(out.size() - 1);
        }
        continue;
      }
      out.add(seg);
    }
    return out;
  }
}
