package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.lakehouse.Locations.Location;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Normalisation and containment of locations, local and in buckets. */
class LocationsTest {
  @TempDir Path dir;

  @Test
  void plainPathsAndFileUrisAreOneLocation() {
    Location plain = Locations.of("/wh/a");
    assertThat(Locations.of("file:/wh/a")).isEqualTo(plain);
    assertThat(Locations.of("file:///wh/a/")).isEqualTo(plain);
    assertThat(Locations.of("file://localhost/wh/a")).isEqualTo(plain);
    assertThat(Locations.of("/wh//x/../a/.")).isEqualTo(plain);
    assertThat(plain.segments()).containsExactly("wh", "a");
    assertThat(plain).hasToString("file:/wh/a");
    assertThat(Locations.of(plain.toString())).isEqualTo(plain);
  }

  @Test
  void containmentGoesBySegmentNotByStringPrefix() {
    Location a = Locations.of("/wh/a");
    assertThat(a.contains(Locations.of("/wh/a/part-0.parquet"))).isTrue();
    assertThat(a.contains(a)).isTrue();
    assertThat(a.contains(Locations.of("/wh/ab"))).isFalse();
    assertThat(a.overlaps(Locations.of("/wh/ab"))).isFalse();
    assertThat(a.overlaps(Locations.of("/wh"))).isTrue();
    assertThat(a.overlaps(Locations.of("/"))).isTrue();
    assertThat(a.contains(Locations.of("/wh/a/../ab"))).isFalse();
  }

  @Test
  void bucketsCompareBySchemeFamilyBucketAndSegment() {
    Location t = Locations.of("s3a://lake/tables/t");
    assertThat(Locations.of("s3://lake/tables/t/")).isEqualTo(t);
    assertThat(Locations.of("s3n://LAKE/tables/x/../t")).isEqualTo(t);
    assertThat(t.contains(Locations.of("s3a://lake/tables/t/_delta_log"))).isTrue();
    assertThat(t.overlaps(Locations.of("s3a://lake/tables/tt"))).isFalse();
    assertThat(t.overlaps(Locations.of("s3a://other/tables/t"))).isFalse();
    assertThat(t.overlaps(Locations.of("/tables/t"))).isFalse();
    assertThat(Locations.of("s3a://lake").contains(t)).isTrue();
    assertThatThrownBy(() -> Locations.of("s3a:///tables/t"))
        .hasMessageContaining("s3a:///tables/t")
        .hasMessageContaining("names no bucket");
  }

  @Test
  void relativePathsResolveAgainstTheWorkingDirectory() {
    Path cwd = Path.of("").toAbsolutePath();
    assertThat(Locations.of("raw/x.csv")).isEqualTo(Locations.of(cwd + "/raw/x.csv"));
    assertThat(Locations.of("file:raw/x.csv")).isEqualTo(Locations.of(cwd + "/raw/x.csv"));
  }

  @Test
  void symbolicLinksAreFollowed() throws Exception {
    Path target = Files.createDirectories(dir.resolve("wh/delta/t"));
    Path link = Files.createSymbolicLink(dir.resolve("innocent"), target);
    Location real = Locations.of(target.toRealPath().toString());
    assertThat(Locations.of(link.toString())).isEqualTo(real);
    assertThat(Locations.of(link + "/new/file.csv").segments())
        .endsWith("wh", "delta", "t", "new", "file.csv");
    assertThat(real.contains(Locations.globPrefix(link + "/*.parquet"))).isTrue();
  }

  @Test
  void aGlobIsCheckedByTheFolderThatHoldsEveryMatch() {
    assertThat(Locations.globPrefix("/raw/2026-*/part-?.csv")).isEqualTo(Locations.of("/raw"));
    assertThat(Locations.globPrefix("/raw/{a,b}/x.csv")).isEqualTo(Locations.of("/raw"));
    assertThat(Locations.globPrefix("/raw/*/../../wh/delta")).isEqualTo(Locations.of("/wh/delta"));
    assertThat(Locations.globPrefix("/raw/x.csv")).isEqualTo(Locations.of("/raw/x.csv"));
    assertThat(Locations.globPrefix("s3a://lake/raw/*.csv"))
        .isEqualTo(Locations.of("s3a://lake/raw"));
    assertThat(Locations.isGlob("/raw/[ab].csv")).isTrue();
    assertThat(Locations.isGlob("/raw/a.csv")).isFalse();
  }

  @Test
  void thePlatformAreasAreTheWarehousesTheModelStoreAndTheCatalogFiles() {
    Platform p = Platform.resolve(PlatformConfig.defaults(), dir);
    List<Locations.Area> areas = Locations.platformAreas(p);
    assertThat(areas)
        .extracting(Locations.Area::description)
        .contains(
            "the warehouse root",
            "the Iceberg warehouse root",
            "the model store",
            "the catalog database file");
    Location home = Locations.of(dir.toString());
    Location inWarehouse = Locations.of(p.warehouse() + "/delta/ns/t");
    Location inModels = Locations.of(p.modelStore() + "/m");
    assertThat(areas.stream().filter(a -> a.conflictsWithTable(inWarehouse))).isEmpty();
    assertThat(areas.stream().filter(a -> a.conflictsWithTable(inModels)))
        .extracting(Locations.Area::description)
        .containsExactly("the model store");
    assertThat(areas.stream().filter(a -> a.conflictsWithTable(home))).hasSize(areas.size());
    assertThat(areas.stream().filter(a -> a.conflictsWithTable(Locations.of(p.warehouse()))))
        .extracting(Locations.Area::description)
        .containsExactly("the warehouse root", "the Iceberg warehouse root");
  }
}
