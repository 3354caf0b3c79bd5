package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.TableInfo;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The path rules end to end: {@code tables ingest --from} reads raw files of the platform or of a
 * table only for ADMIN, {@code --bad-rows} never lands among them, {@code tables apply} names the
 * spec file of a table that would share another's folder, and a failed delete says why.
 */
class PathRulesCliTest extends SparkTestBase {
  private static final String SPEC =
      """
      name: guard.%s
      format: delta
      columns:
        - {name: id, type: bigint, nullable: false}
        - {name: name, type: string}
      primary-key: [id]
      """;
  private static Path people;
  private static String secretFolder;

  @BeforeAll
  static void tables() {
    Path specs = home.resolve("specs");
    write(specs, "people.yaml", SPEC.formatted("people"));
    write(specs, "secret.yaml", SPEC.formatted("secret"));
    ok("tables", "apply", specs.toString()); // the OS user becomes the home's admin
    ok("catalog", "grant", "MODIFY", "namespace:guard", "ingester");
    people = write(home.resolve("raw"), "people.csv", "id,name\n1,ann\n2,bob\n");
    Path secret = write(home.resolve("raw"), "secret.csv", "id,name\n7,the formula\n");
    ok("tables", "ingest", "guard.secret", "--from", secret.toString(), "--format", "csv");
    secretFolder = home.resolve("warehouse/delta/guard/secret").toString();
  }

  private static CliRun ok(String... args) {
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  /** Runs a command that must fail with exit 1 and leave guard.people as it was. */
  private static String fails(String... args) {
    long version = TableInfo.describe(spark, TableName.parse("guard.people")).version();
    long rows = spark.table("guard.people").count();
    CliRun r = CliRun.run(home, args);
    assertThat(r.code()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).startsWith("error: ");
    assertThat(TableInfo.describe(spark, TableName.parse("guard.people")).version())
        .isEqualTo(version);
    assertThat(spark.table("guard.people").count()).isEqualTo(rows);
    return r.err();
  }

  private static String ingestAs(String who, String from, String format) {
    return fails(
        "--as",
        who,
        "tables",
        "ingest",
        "guard.people",
        "--from",
        from,
        "--format",
        format,
        "--mode",
        "append");
  }

  @Test
  void aPrincipalWithModifyIngestsRawFilesFromOutsideThePlatform() {
    CliRun r =
        ok(
            "--as",
            "ingester",
            "tables",
            "ingest",
            "guard.people",
            "--from",
            people.toString(),
            "--format",
            "csv");
    assertThat(r.out()).contains("guard.people: merge of 2 rows read, 2 written");
    ok(
        "--as",
        "ingester",
        "tables",
        "ingest",
        "guard.people",
        "--from",
        home.resolve("raw") + "/peo*.csv",
        "--format",
        "csv");
    assertThat(spark.table("guard.people").count()).isEqualTo(2);
  }

  @Test
  void rawReadsOfATablesOrThePlatformsFilesNeedAdmin() {
    assertThat(ingestAs("ingester", secretFolder, "parquet"))
        .contains(
            "Cannot ingest into guard.people from " + secretFolder,
            "--from reaches into the folder of table guard.secret",
            "only ADMIN may read raw",
            "Access denied",
            "ingester",
            "ADMIN");
    assertThat(ingestAs("ingester", home + "/warehouse/delta/*/secret/*.parquet", "parquet"))
        .contains("--from reaches into the folder of table guard.", "ADMIN");
    assertThat(ingestAs("ingester", home.resolve("catalog.db").toString(), "csv"))
        .contains("the catalog database file", "ADMIN");
    assertThat(ingestAs("ingester", home + "/raw/../warehouse", "parquet"))
        .contains("--from reaches into the folder of table guard.", "ADMIN");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select count(*) as n from lakeforge.audit where principal = 'ingester'"
                        + " and outcome = 'denied'")
                .out())
        .isEqualTo("n\n4\n");
  }

  @Test
  void theAdminMayIngestATablesFiles() {
    Path target = home.resolve("specs-copy");
    write(target, "copy.yaml", SPEC.formatted("copy"));
    ok("tables", "apply", target.toString());
    CliRun r =
        ok(
            "tables",
            "ingest",
            "guard.copy",
            "--from",
            secretFolder,
            "--format",
            "parquet",
            "--mode",
            "append");
    assertThat(r.out()).contains("1 written");
  }

  @Test
  void applyNamesTheSpecFileTheFieldTheOtherTableAndTheFix() {
    Path thief =
        write(
            home.resolve("thief"),
            "thief.yaml",
            SPEC.formatted("thief") + "location: file://" + secretFolder + "/\n");
    String err = fails("tables", "apply", thief.toString());
    assertThat(err)
        .contains(
            "no table was changed",
            "guard.thief (" + thief + ")",
            "field `location`",
            "equals the location of table guard.secret",
            "remove `location` to use the default");
    assertThat(spark.catalog().tableExists("guard.thief")).isFalse();
  }

  @Test
  void badRowsMayNotLandAmongThePlatformsFiles() {
    Path file = write(home.resolve("raw2"), "bad.csv", "id,name\n3,cy\nx,bad\n");
    String err =
        fails(
            "tables",
            "ingest",
            "guard.people",
            "--from",
            file.toString(),
            "--format",
            "csv",
            "--bad-rows",
            secretFolder + "/rejected");
    assertThat(err)
        .contains(
            "--bad-rows " + secretFolder + "/rejected lies inside the folder of table guard.secret",
            "Nothing was read or written",
            "Give --bad-rows a new folder");
    assertThat(Files.exists(Path.of(secretFolder, "rejected"))).isFalse();
  }

  @Test
  void aFailedDeleteNamesTheTableAndSparksReason() {
    String err = fails("tables", "delete", "guard.people", "--where", "nmae = 'ann'");
    assertThat(err).contains("Cannot delete from guard.people", "nmae", "`name`");
    String sub =
        fails(
            "tables",
            "delete",
            "guard.people",
            "--where",
            "id in (select id from guard.people where name = 'ann')");
    assertThat(sub).contains("Cannot delete from guard.people", "id in (select id");
  }
}
