package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.Platform;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Where tables and rejected rows may live: a new table's folder is its own, and an ingest never
 * writes bad rows among the platform's or a table's files, on real Delta and Iceberg tables.
 */
class LocationRulesTest extends SparkTestBase {
  private static final TableName ORDERS = TableName.parse("paths.orders");
  private static Platform platform;
  private static String ordersFolder;

  private static TableSpec spec(String name, String format, String location) {
    return YamlSpecReader.parse(
        """
        name: %s
        format: %s
        columns:
          - {name: id, type: bigint, nullable: false}
          - {name: what, type: string}
        primary-key: [id]
        %s
        """
            .formatted(name, format, location == null ? "" : "location: " + location),
        TableSpec.class,
        "test spec");
  }

  @BeforeAll
  static void orders() {
    platform = Platform.of(spark);
    new ApplyTablesJob(List.of(spec(ORDERS.toString(), "delta", null))).run(spark);
    ordersFolder = platform.warehouse() + "/delta/paths/orders";
    IngestJob.builder(
            ORDERS, raw("orders.csv", "id,what\n1,pen\n2,ink\n").toString(), SourceFormat.CSV)
        .build()
        .run(spark);
  }

  private static Path raw(String name, String text) {
    return write(home.resolve("raw"), name, text);
  }

  private static long ordersVersion() {
    return Lakehouse.open(spark).operations(TableFormat.DELTA).currentVersion(ORDERS);
  }

  /** Applies a spec that must be refused; checks that no table was created or changed. */
  private static String refused(TableSpec... specs) {
    long before = ordersVersion();
    int registered = Lakehouse.open(spark).registry().list().size();
    Throwable e =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> new ApplyTablesJob(List.of(specs), sources(specs)).run(spark));
    assertThat(e)
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("no table was changed")
        .hasMessageContaining("`location`")
        .hasMessageContaining(" (" + specs[specs.length - 1].name().table() + ".yaml): ");
    assertThat(ordersVersion()).isEqualTo(before);
    assertThat(Lakehouse.open(spark).registry().list()).hasSize(registered);
    for (TableSpec s : specs) {
      assertThat(spark.catalog().tableExists(s.name().toString())).isFalse();
    }
    return e.getMessage();
  }

  private static java.util.Map<TableName, String> sources(TableSpec... specs) {
    java.util.Map<TableName, String> sources = new java.util.HashMap<>();
    for (TableSpec s : specs) {
      sources.put(s.name(), s.name().table() + ".yaml");
    }
    return sources;
  }

  @Test
  void aTableCannotTakeAnotherTablesFolder() {
    assertThat(refused(spec("paths.thief", "delta", "file://" + ordersFolder + "/../orders/")))
        .contains(
            "field `location` (file://"
                + ordersFolder
                + "/../orders/) equals the location of table paths.orders",
            "two tables may not share files",
            "remove `location` to use the default " + platform.warehouse() + "/delta/paths/thief");
    assertThat(refused(spec("paths.thief", "iceberg", ordersFolder + "/sub")))
        .contains("lies inside the location of table paths.orders");
    assertThat(refused(spec("paths.thief", "delta", platform.warehouse() + "/delta/paths")))
        .contains("contains the location of table paths.orders");
  }

  @Test
  void aTableCannotHoldThePlatformsFiles() {
    assertThat(refused(spec("paths.thief", "delta", platform.warehouse() + "/")))
        .contains("equals the warehouse root", "contains the Iceberg warehouse root");
    assertThat(refused(spec("paths.thief", "delta", platform.icebergWarehouse())))
        .contains("equals the Iceberg warehouse root");
    assertThat(refused(spec("paths.thief", "delta", platform.modelStore() + "/m1")))
        .contains("lies inside the model store");
    assertThat(refused(spec("paths.thief", "delta", home.toString())))
        .contains("contains the catalog database file", "contains the model store");
    assertThat(Files.exists(Path.of(platform.modelStore(), "m1"))).isFalse();
  }

  @Test
  void twoNewTablesOfOneBatchCannotShareAFolder() {
    String shared = home.resolve("elsewhere/shared").toString();
    assertThat(
            refused(
                spec("paths.one", "delta", shared), spec("paths.two", "iceberg", shared + "/two")))
        .contains(
            "paths.two (two.yaml): field `location` ("
                + shared
                + "/two) lies inside the location of table"
                + " paths.one",
            "(both are in this batch)");
    assertThat(Files.exists(Path.of(shared))).isFalse();
  }

  @Test
  void aFolderBesideAnotherTablesWithASharedNamePrefixIsFine() {
    var r =
        new ApplyTablesJob(
                List.of(
                    spec("paths.orders_archive", "delta", ordersFolder + "_archive"),
                    spec("paths.outside", "iceberg", home.resolve("elsewhere/outside").toString()),
                    spec("paths.orders2", "iceberg", null)))
            .run(spark);
    assertThat(r.tables())
        .extracting(ApplyTablesJob.TableOutcome::action)
        .containsOnly(ApplyTablesJob.Action.CREATED);
    // re-applying a registered table is not an overlap with itself
    var again =
        new ApplyTablesJob(
                List.of(spec("paths.orders_archive", "delta", ordersFolder + "_archive")))
            .run(spark);
    assertThat(again.tables().get(0).action()).isEqualTo(ApplyTablesJob.Action.UNCHANGED);
  }

  /** Ingests a file with one bad row into orders with {@code badRows}; must be refused. */
  private static String badRowsRefused(String badRows) {
    long before = ordersVersion();
    Path file = raw("with-bad.csv", "id,what\n3,cap\nx,bad\n");
    Throwable e =
        org.assertj.core.api.Assertions.catchThrowable(
            () ->
                IngestJob.builder(ORDERS, file.toString(), SourceFormat.CSV)
                    .optBadRowsPath(badRows)
                    .build()
                    .run(spark));
    assertThat(e)
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("Cannot ingest into paths.orders: --bad-rows " + badRows)
        .hasMessageContaining("Nothing was read or written")
        .hasMessageContaining("Give --bad-rows a new folder");
    assertThat(ordersVersion()).isEqualTo(before);
    return e.getMessage();
  }

  @Test
  void badRowsAreNeverWrittenAmongThePlatformsOrATablesFiles() throws Exception {
    List<String> ordersFiles;
    try (var s = Files.walk(Path.of(ordersFolder))) {
      ordersFiles = s.map(Path::toString).sorted().toList();
    }
    assertThat(badRowsRefused(ordersFolder)).contains("is the folder of table paths.orders");
    assertThat(badRowsRefused(ordersFolder + "/rejected"))
        .contains("lies inside the folder of table paths.orders");
    assertThat(badRowsRefused(platform.warehouse() + "/rejected"))
        .contains("lies inside the warehouse root");
    assertThat(badRowsRefused(platform.modelStore() + "/x"))
        .contains("lies inside the model store");
    assertThat(badRowsRefused(home.toString()))
        .contains("contains the folder of table paths.orders");
    assertThat(badRowsRefused(home.resolve("raw").toString()))
        .contains("contains the source --from");
    assertThat(badRowsRefused(home.resolve("raw/*").toString())).contains("is a glob");
    Path full = write(home.resolve("full"), "keep.json", "{\"precious\": 1}\n");
    assertThat(badRowsRefused(full.getParent().toString()))
        .contains("already exists and is not an empty folder");
    assertThat(badRowsRefused(full.toString())).contains("already exists");
    assertThat(Files.readString(full)).isEqualTo("{\"precious\": 1}\n");
    try (var s = Files.walk(Path.of(ordersFolder))) {
      assertThat(s.map(Path::toString).sorted().toList()).isEqualTo(ordersFiles);
    }
    assertThat(Files.exists(Path.of(platform.modelStore(), "x"))).isFalse();
  }

  @Test
  void badRowsGoToANewOrEmptyFolderOnly() throws Exception {
    Path empty = Files.createDirectories(home.resolve("rejected/empty"));
    Path file = raw("two-bad.csv", "id,what\n5,cup\ny,bad\n");
    var r =
        IngestJob.builder(ORDERS, file.toString(), SourceFormat.CSV)
            .optMode(WriteMode.APPEND)
            .optBadRowsPath(empty.toString())
            .build()
            .run(spark);
    assertThat(r.rowsRejected()).isEqualTo(1);
    assertThat(spark.read().json(empty.toString()).count()).isEqualTo(1);
    // the folder now holds rejected rows: a second run may not mix or replace them
    assertThat(badRowsRefused(empty.toString())).contains("already exists");
    Path fresh = home.resolve("rejected/new");
    IngestJob.builder(ORDERS, file.toString(), SourceFormat.CSV)
        .optMode(WriteMode.APPEND)
        .optBadRowsPath(fresh.toString())
        .build()
        .run(spark);
    assertThat(spark.read().json(fresh.toString()).count()).isEqualTo(1);
  }

  @Test
  void aFailedDeleteSaysWhy() {
    long before = ordersVersion();
    assertThatThrownBy(() -> new DeleteJob(ORDERS, "wat = 'pen'").run(spark))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("Cannot delete from paths.orders")
        .hasMessageContaining("wat")
        .hasMessageContaining("`what`");
    assertThat(ordersVersion()).isEqualTo(before);
  }
}
