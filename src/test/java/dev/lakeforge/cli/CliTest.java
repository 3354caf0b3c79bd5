package dev.lakeforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.TableInfo;
import dev.lakeforge.testing.CliRun;
import dev.lakeforge.testing.SparkTestBase;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CLI end to end, in-process, on a real session: the happy path of every command, and a corpus
 * of bad specs and bad arguments, each of which must give exit code 1 or 2, a message naming the
 * problem, and leave the tables as they were.
 */
class CliTest extends SparkTestBase {
  private static final String SPEC =
      """
      name: cli.people
      format: %s
      columns:
        - {name: id, type: bigint, nullable: false}
        - {name: name, type: string}
        - {name: age, type: int}
      primary-key: [id]
      """;
  private static final String KEYLESS =
      """
      name: cli.events
      format: iceberg
      columns:
        - {name: id, type: bigint}
        - {name: what, type: string}
      """;
  private static Path specs;
  private static Path people;

  @BeforeAll
  static void tables() {
    specs = home.resolve("specs");
    write(specs, "people.yaml", SPEC.formatted("delta"));
    write(specs, "events.yaml", KEYLESS);
    people = write(home.resolve("raw"), "people.csv", "id,name,age\n1,ann,31\n2,bob,42\n3,cy,27\n");
    ok(
        "tables",
        "apply",
        specs.toString()); // the first principal (the OS user) becomes the home's admin
    ok("catalog", "grant", "MODIFY", "namespace:cli", "ingester");
    ok("catalog", "grant", "MODIFY", "namespace:cli", "cleaner");
    ok("catalog", "grant", "CREATE_VERSION", "model:*", "ann");
    ok("catalog", "grant", "SELECT", "namespace:cli", "reader");
    ok(
        "tables",
        "ingest",
        "cli.people",
        "--from",
        people.toString(),
        "--format",
        "csv",
        "--batch-id",
        "b1");
    Path events = write(home.resolve("raw"), "events0.csv", "id,what\n1,view\n");
    ok(
        "tables",
        "ingest",
        "cli.events",
        "--from",
        events.toString(),
        "--format",
        "csv",
        "--mode",
        "append");
  }

  private static CliRun cli(String... args) {
    return CliRun.run(home, args);
  }

  private static CliRun ok(String... args) {
    CliRun r = cli(args);
    assertThat(r.code()).as(r.toString()).isZero();
    return r;
  }

  /** Runs a command that must fail with {@code code}, and checks that cli.people did not change. */
  private static CliRun fails(int code, String... args) {
    long version = TableInfo.describe(spark, TableName.parse("cli.people")).version();
    long rows = spark.table("cli.people").count();
    CliRun r = cli(args);
    assertThat(r.code()).as(r.toString()).isEqualTo(code);
    assertThat(r.err()).startsWith("error: ");
    assertThat(r.err().lines().count()).as("one paragraph: %s", r.err()).isLessThanOrEqualTo(4);
    assertThat(TableInfo.describe(spark, TableName.parse("cli.people")).version())
        .isEqualTo(version);
    assertThat(spark.table("cli.people").count()).isEqualTo(rows);
    return r;
  }

  @Test
  void applyPrintsWhatItDidAndReapplyChangesNothing() {
    CliRun r = ok("tables", "apply", specs.toString());
    assertThat(r.out()).contains("cli.people | delta", "unchanged").doesNotContain("created");
  }

  @Test
  void ingestRerunWithTheSameBatchIdWritesNothing() {
    CliRun r =
        ok(
            "tables",
            "ingest",
            "cli.people",
            "--from",
            people.toString(),
            "--format",
            "csv",
            "--batch-id",
            "b1");
    assertThat(r.out()).contains("batch b1 was already committed; nothing written");
    assertThat(spark.table("cli.people").count()).isEqualTo(3);
  }

  @Test
  void sqlPrintsTablesCsvAndJson() {
    assertThat(ok("sql", "select id, name from cli.people order by id").out())
        .isEqualTo("id | name\n---+-----\n1  | ann\n2  | bob\n3  | cy\n(3 rows)\n");
    assertThat(ok("sql", "--format", "csv", "select id, name from cli.people order by id").out())
        .isEqualTo("id,name\n1,ann\n2,bob\n3,cy\n");
    assertThat(ok("sql", "--format", "json", "select id, age from cli.people where id = 2").out())
        .isEqualTo("{\"id\":2,\"age\":42}\n");
    CliRun limited =
        ok("sql", "--format", "csv", "--limit", "2", "select id from cli.people order by id");
    assertThat(limited.out()).isEqualTo("id\n1\n2\n");
    assertThat(limited.err()).contains("first 2 rows shown");
  }

  @Test
  void historyDescribeAndTimeTravel() {
    long v = TableInfo.describe(spark, TableName.parse("cli.people")).version();
    assertThat(ok("tables", "history", "cli.people").out()).contains("MERGE", "b1", "CREATE TABLE");
    assertThat(ok("tables", "describe", "cli.people").out())
        .contains("format:       delta", "primary key:  id", "version:      " + v, "age    | int");
    assertThat(
            ok("sql", "--format", "csv", "select count(*) as n from cli.people VERSION AS OF 0")
                .out())
        .isEqualTo("n\n0\n");
  }

  @Test
  void asOfReadsEveryTableAsOfOneMoment() {
    java.time.Instant peopleAt =
        TableInfo.history(spark, TableName.parse("cli.people")).get(0).timestamp();
    java.time.Instant eventsAt =
        TableInfo.history(spark, TableName.parse("cli.events")).get(0).timestamp();
    String at =
        java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS")
            .withZone(java.time.ZoneOffset.UTC)
            .format(peopleAt.isAfter(eventsAt) ? peopleAt : eventsAt);
    String query =
        "select (select count(*) from cli.people) as people, (select count(*) from iceberg.cli.events) as events";
    String then = ok("sql", "--format", "csv", query).out();
    Path more = write(home.resolve("raw"), "asof.csv", "id,name,age\n20,zed,9\n");
    ok("tables", "ingest", "cli.people", "--from", more.toString(), "--format", "csv");
    Path moreEvents = write(home.resolve("raw"), "asof-events.csv", "id,what\n2,click\n");
    ok(
        "tables",
        "ingest",
        "cli.events",
        "--from",
        moreEvents.toString(),
        "--format",
        "csv",
        "--mode",
        "append");

    assertThat(ok("sql", "--format", "csv", "--as-of", at, query).out()).isEqualTo(then);
    assertThat(ok("sql", "--format", "csv", query).out()).isNotEqualTo(then);
    ok("tables", "delete", "cli.people", "--where", "id = 20");
  }

  @Test
  void theCatalogIsQueryableWithSql() {
    Path model = write(home.resolve("models-in"), "m.pt", "weights");
    Path signature = write(home.resolve("models-in"), "sig.yaml", TestSignatures.X_TO_Y_YAML);
    ok(
        "--as",
        "ann",
        "models",
        "register",
        "sqlcheck",
        "--file",
        model.toString(),
        "--flavor",
        "torchscript",
        "--signature",
        signature.toString());
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select v.model, v.version, v.created_by from lakeforge.model_versions v where v.model = 'sqlcheck'")
                .out())
        .isEqualTo("model,version,created_by\nsqlcheck,1,ann\n");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select count(*) as n from lakeforge.audit where object = 'model:sqlcheck/1' and principal = 'ann'")
                .out())
        .isEqualTo("n\n1\n");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select name, format from lakeforge.datasets where name = 'cli.people'")
                .out())
        .isEqualTo("name,format\ncli.people,delta\n");
  }

  @Test
  void jobsRecordRunsAndLineage() {
    Path f = write(home.resolve("raw"), "lineage.csv", "id,name,age\n30,lin,5\n");
    ok(
        "--as",
        "ingester",
        "tables",
        "ingest",
        "cli.people",
        "--from",
        f.toString(),
        "--format",
        "csv");
    long afterIngest = TableInfo.describe(spark, TableName.parse("cli.people")).version();
    ok("--as", "cleaner", "tables", "delete", "cli.people", "--where", "id = 30");
    long afterDelete = TableInfo.describe(spark, TableName.parse("cli.people")).version();

    String upstream =
        ok("catalog", "lineage", "cli.people@" + afterDelete).out().replaceAll(" +", " ");
    assertThat(upstream)
        .contains("cli.people@v" + afterIngest + " | tables.delete | cli.people@v" + afterDelete)
        .contains(f + " | tables.ingest | cli.people@v" + afterIngest);
    assertThat(ok("catalog", "lineage", f.toString(), "--downstream", "--format", "dot").out())
        .startsWith("digraph lineage {")
        .contains(
            "\"" + f + "\" -> \"cli.people@v" + afterIngest + "\" [label=\"tables.ingest\"];");
    assertThat(ok("catalog", "runs", "--limit", "2").out().replaceAll(" +", " "))
        .contains(
            "tables.delete | cleaner", "tables.ingest | ingester", "succeeded", "rows_written");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select current_version from lakeforge.datasets where name = 'cli.people'")
                .out())
        .isEqualTo("current_version\n" + afterDelete + "\n");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select job from lakeforge.lineage where to_name = 'cli.people' and to_version = '"
                        + afterDelete
                        + "'")
                .out())
        .isEqualTo("job\ntables.delete\n");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select principal, detail from lakeforge.audit where action = 'tables.delete' and object = 'table:cli.people'"
                        + " and detail like 'wrote version "
                        + afterDelete
                        + " %'")
                .out())
        .startsWith("principal,detail\ncleaner,wrote version " + afterDelete + " (run ");

    fails(
        1,
        "--as",
        "ingester",
        "tables",
        "ingest",
        "cli.people",
        "--from",
        "/no/such.csv",
        "--format",
        "csv");
    assertThat(ok("catalog", "runs", "--limit", "1").out().replaceAll(" +", " "))
        .contains("tables.ingest | ingester", "failed", "does not exist");
  }

  @Test
  void accessIsCheckedBeforeAnythingIsReadOrWritten() {
    // reader holds SELECT on namespace:cli and nothing else
    assertThat(
            ok(
                    "--as",
                    "reader",
                    "sql",
                    "--format",
                    "csv",
                    "select count(*) as n from cli.people where id = 1")
                .out())
        .isEqualTo("n\n1\n");
    assertThat(ok("--as", "reader", "tables", "describe", "cli.people").out())
        .contains("format:       delta");
    CliRun denied =
        fails(
            1,
            "--as",
            "reader",
            "tables",
            "ingest",
            "cli.people",
            "--from",
            people.toString(),
            "--format",
            "csv",
            "--mode",
            "append");
    assertThat(denied.err())
        .contains(
            "Access denied",
            "reader",
            "MODIFY",
            "table:cli.people",
            "lakeforge catalog grant MODIFY table:cli.people reader");
    assertThat(fails(1, "--as", "reader", "sql", "delete from cli.people where id = 1").err())
        .contains("reader", "MODIFY", "table:cli.people");
    assertThat(
            fails(1, "--as", "reader", "sql", "insert into cli.people values (99, 'x', 1)").err())
        .contains("reader", "MODIFY", "table:cli.people");
    assertThat(fails(1, "--as", "reader", "sql", "drop table cli.people").err())
        .contains("reader", "ADMIN", "*");
    assertThat(fails(1, "--as", "reader", "sql", "select * from lakeforge.audit").err())
        .contains("reader", "SELECT", "table:lakeforge.audit");
    assertThat(fails(1, "--as", "reader", "sql", "select * from parquet.`/etc`").err())
        .contains("reader", "ADMIN");
    assertThat(fails(1, "--as", "stranger", "sql", "select * from iceberg.cli.events").err())
        .contains("stranger", "SELECT", "table:cli.events");
    assertThat(fails(1, "--as", "stranger", "tables", "history", "cli.people").err())
        .contains("stranger", "SELECT", "table:cli.people");
    assertThat(fails(1, "--as", "reader", "catalog", "grant", "ADMIN", "*", "reader").err())
        .contains("reader", "ADMIN");
    assertThat(
            ok(
                    "sql",
                    "--format",
                    "csv",
                    "select outcome, count(*) as n from lakeforge.audit where principal = 'reader'"
                        + " and action = 'access.modify' group by outcome")
                .out())
        .isEqualTo("outcome,n\ndenied,3\n");
    assertThat(
            fails(
                    1,
                    "sql",
                    "insert into lakeforge.audit (at, principal, action, object, outcome)"
                        + " values ('2026-01-01T00:00:00Z', 'x', 'y', 'z', 'done')")
                .err())
        .contains("lakeforge.audit", "read-only");
    // with a CTE, reading is still SELECT on the real table only
    assertThat(
            ok(
                    "--as",
                    "reader",
                    "sql",
                    "--format",
                    "csv",
                    "with p as (select * from cli.people) select count(*) > 0 as any from p")
                .out())
        .isEqualTo("any\ntrue\n");
  }

  @Test
  void asOfNeedsATimestampAndALakehouseTable() {
    assertThat(fails(1, "sql", "--as-of", "yesterday", "select * from cli.people").err())
        .contains("'yesterday'", "yyyy-MM-dd HH:mm:ss", "VERSION AS OF");
    assertThat(fails(1, "sql", "--as-of", "2026-01-01", "select 1").err()).contains("reads none");
  }

  @Test
  void maintainDryRunPrintsASummaryAndChangesNothing() {
    CliRun r = ok("tables", "maintain", "cli.people", "--dry-run");
    assertThat(r.out())
        .contains(
            "files before",
            "bytes freed",
            "cli.people | delta",
            "VACUUM would delete",
            "Dry run: nothing was changed.");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "tables",
        "tables apply",
        "tables ingest",
        "tables delete",
        "tables history",
        "tables describe",
        "tables maintain",
        "sql",
        "quickstart",
        "models",
        "models register",
        "models list",
        "models show",
        "models alias",
        "catalog",
        "catalog audit",
        "catalog lineage",
        "catalog runs",
        "catalog grant",
        "catalog revoke",
        "catalog roles",
        "catalog grants",
        "catalog principals"
      })
  void everyCommandHasHelp(String command) {
    String[] args = (command + " --help").split(" ");
    CliRun r = cli(args);
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("Usage: lakeforge " + command);
  }

  // ---- the corpus of bad input: each names the problem, exits non-zero, and leaves cli.people
  // unchanged ----

  @Test
  void specWithAnUnknownKeyNamesTheFileTheKeyAndTheValidKeys() {
    Path bad =
        write(
            home.resolve("bad"),
            "typo.yaml",
            SPEC.formatted("delta").replace("columns:", "colums:"));
    CliRun r = fails(1, "tables", "apply", bad.toString());
    assertThat(r.err()).contains("typo.yaml", "colums", "columns");
  }

  @Test
  void specWithAWrongTypeNamesTheField() {
    Path bad =
        write(
            home.resolve("bad"),
            "type.yaml",
            SPEC.formatted("delta") + "retention: {days: many}\n");
    CliRun r = fails(1, "tables", "apply", bad.toString());
    assertThat(r.err()).contains("type.yaml", "retention", "days", "many");
  }

  @Test
  void specWithAnUnknownFormatListsTheFormats() {
    Path bad = write(home.resolve("bad"), "format.yaml", SPEC.formatted("hudi"));
    CliRun r = fails(1, "tables", "apply", bad.toString());
    assertThat(r.err()).contains("format.yaml", "hudi", "delta", "iceberg");
  }

  @Test
  void breakingChangeIsRefusedNamingTheColumn() {
    Path bad =
        write(
            home.resolve("bad"),
            "narrow.yaml",
            SPEC.formatted("delta").replace("type: int", "type: tinyint"));
    CliRun r = fails(1, "tables", "apply", bad.toString());
    assertThat(r.err()).contains("cli.people", "age", "no table was changed");
  }

  @Test
  void mergeIntoATableWithoutPrimaryKeyIsRefused() {
    Path f = write(home.resolve("raw"), "events.csv", "id,what\n1,click\n");
    CliRun r =
        fails(
            1,
            "tables",
            "ingest",
            "cli.events",
            "--from",
            f.toString(),
            "--format",
            "csv",
            "--mode",
            "merge");
    assertThat(r.err()).contains("cli.events", "no primary-key", "--mode append");
  }

  @Test
  void unknownTableIsNamed() {
    CliRun r =
        fails(1, "tables", "ingest", "cli.nope", "--from", people.toString(), "--format", "csv");
    assertThat(r.err()).contains("cli.nope", "is not a Lakeforge table", "apply its spec");
  }

  @Test
  void missingSourceFileIsNamed() {
    CliRun r =
        fails(
            1, "tables", "ingest", "cli.people", "--from", "/no/such/file.csv", "--format", "csv");
    assertThat(r.err()).contains("/no/such/file.csv", "does not exist");
  }

  @Test
  void unreadableSourceIsNamed() {
    Path junk = write(home.resolve("raw"), "junk.parquet", "this is not parquet");
    CliRun r =
        fails(
            1, "tables", "ingest", "cli.people", "--from", junk.toString(), "--format", "parquet");
    assertThat(r.err()).contains("junk.parquet", "parquet", "cli.people");
  }

  @Test
  void rowsThatDoNotFitAreCountedAndNothingIsWritten() {
    Path f = write(home.resolve("raw"), "badage.csv", "id,name,age\n7,dee,old\n8,eve,50\n");
    CliRun r =
        fails(1, "tables", "ingest", "cli.people", "--from", f.toString(), "--format", "csv");
    assertThat(r.err()).contains("1 of 2 rows do not fit", "age", "old", "--bad-rows");
  }

  @Test
  void badDeletePredicateIsRefused() {
    CliRun r = fails(1, "tables", "delete", "cli.people", "--where", "agee > 3");
    assertThat(r.err()).contains("cli.people", "agee");
  }

  @Test
  void badSqlNamesTheMissingTable() {
    CliRun r = fails(1, "sql", "select * from cli.nowhere");
    assertThat(r.err()).contains("TABLE_OR_VIEW_NOT_FOUND", "nowhere");
  }

  @Test
  void badEnumOptionsListTheChoices() {
    assertThat(
            fails(
                    1,
                    "tables",
                    "ingest",
                    "cli.people",
                    "--from",
                    people.toString(),
                    "--format",
                    "xml")
                .err())
        .contains("xml", "csv, json or parquet");
    assertThat(
            fails(
                    1,
                    "tables",
                    "ingest",
                    "cli.people",
                    "--from",
                    people.toString(),
                    "--format",
                    "csv",
                    "--mode",
                    "upsert")
                .err())
        .contains("upsert", "merge, append or overwrite");
    assertThat(fails(1, "sql", "--format", "xml", "select 1").err()).contains("table, csv or json");
  }

  @Test
  void badTableNameExplainsTheForm() {
    assertThat(fails(1, "tables", "describe", "people").err())
        .contains("'people'", "namespace.table");
  }

  @Test
  void usageErrorsExitWithTwo() {
    assertThat(fails(2, "tables", "ingest", "cli.people", "--format", "csv").err())
        .contains("--from");
    assertThat(fails(2, "tables", "history", "cli.people", "--frobnicate").err())
        .contains("--frobnicate");
    assertThat(fails(2, "nosuchcommand").err()).contains("nosuchcommand");
  }

  @Test
  void badPlatformConfigAndSparkConfAreNamed() {
    Path conf = write(home.resolve("bad"), "lakeforge.yaml", "warehous: /tmp/x\n");
    assertThat(fails(1, "--conf", conf.toString(), "sql", "select 1").err())
        .contains("lakeforge.yaml", "warehous", "warehouse");
    assertThat(fails(1, "--spark-conf", "shuffle=4", "sql", "select 1").err())
        .contains("shuffle", "spark.");
  }

  @Test
  void anAdminMayOverrideSecuritySettingsAndTheSessionForgetsWhoRan() {
    String principal = spark.conf().get(dev.lakeforge.catalog.Principal.SPARK_CONF, "(unset)");
    String actor = spark.conf().get(dev.lakeforge.catalog.Principal.ACTOR_SPARK_CONF, "(unset)");
    assertThat(
            ok(
                    "--spark-conf",
                    "spark.lakeforge.test-marker=on",
                    "sql",
                    "--format",
                    "csv",
                    "select 1")
                .out())
        .as("the OS user is the home's admin")
        .isEqualTo("1\n1\n");
    ok("--as", "reader", "sql", "select count(*) from cli.people");
    assertThat(spark.conf().get(dev.lakeforge.catalog.Principal.SPARK_CONF, "(unset)"))
        .isEqualTo(principal);
    assertThat(spark.conf().get(dev.lakeforge.catalog.Principal.ACTOR_SPARK_CONF, "(unset)"))
        .isEqualTo(actor);
  }

  @Test
  void deleteRemovesMatchingRowsAndTimeTravelStillSeesThem() {
    Path f = write(specs.getParent().resolve("raw"), "del.csv", "id,name,age\n10,del,1\n");
    ok("tables", "ingest", "cli.people", "--from", f.toString(), "--format", "csv");
    long before = TableInfo.describe(spark, TableName.parse("cli.people")).version();
    CliRun r = ok("tables", "delete", "cli.people", "--where", "id = 10");
    assertThat(r.out()).contains("1 rows deleted");
    assertThat(spark.sql("select count(*) from cli.people where id = 10").first().getLong(0))
        .isZero();
    assertThat(
            spark
                .sql("select count(*) from cli.people VERSION AS OF " + before + " where id = 10")
                .first()
                .getLong(0))
        .isEqualTo(1);
  }
}
