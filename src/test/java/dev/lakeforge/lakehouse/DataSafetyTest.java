package dev.lakeforge.lakehouse;

import static org.apache.spark.sql.functions.call_udf;
import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.AuditLog;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.TableName;
import dev.lakeforge.testing.SparkTestBase;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 8: no write path loses, changes or duplicates data silently — partial upserts, values that
 * do not fit, pinned write settings, concurrent writers, exact versions in runs, and runs that
 * survive a catalog hiccup. Every case runs on real Delta and Iceberg tables and a real SQLite
 * catalog.
 */
class DataSafetyTest extends SparkTestBase {
  private static TableName apply(TableFormat f, String table, String columns, String extra) {
    String yaml =
        """
        name: %s
        format: %s
        columns:
          - {name: customer_id, type: bigint, nullable: false}
        %s
        %s
        retention: {days: 7, versions: 10}
        """
            .formatted(table, f.label(), columns.indent(2), extra);
    TableSpec spec = dev.lakeforge.core.YamlSpecReader.parse(yaml, TableSpec.class, "test spec");
    new ApplyTablesJob(List.of(spec)).run(spark);
    return spec.name();
  }

  private static TableName customers(TableFormat f, String name) {
    return apply(
        f,
        "safe_" + f.label() + "." + name,
        """
        - {name: name, type: string}
        - {name: email, type: string}
        - {name: score, type: int}""",
        "primary-key: [customer_id]");
  }

  private static String sqlName(TableFormat f, TableName t) {
    return f.sqlName(t, "iceberg");
  }

  private static List<String> rows(TableFormat f, TableName t) {
    return spark
        .sql("select * from " + sqlName(f, t) + " order by customer_id")
        .collectAsList()
        .stream()
        .map(Row::toString)
        .toList();
  }

  private static Path file(String name, String text) {
    return write(home.resolve("raw"), name, text);
  }

  private static IngestJob.Result ingest(TableName t, Path from, SourceFormat format) {
    return IngestJob.builder(t, from.toString(), format).build().run(spark);
  }

  private static IngestJob.Result append(TableName t, Path from) {
    return IngestJob.builder(t, from.toString(), SourceFormat.CSV)
        .optMode(WriteMode.APPEND)
        .build()
        .run(spark);
  }

  private static long datasetVersion(Lakehouse lh, TableName t) {
    return lh.catalog()
        .read(
            "read the dataset version",
            c -> {
              try (var ps =
                  c.prepareStatement("SELECT current_version FROM datasets WHERE name = ?")) {
                ps.setString(1, t.toString());
                try (var rs = ps.executeQuery()) {
                  rs.next();
                  return rs.getLong(1);
                }
              }
            });
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aPartialRecordUpdatesOnlyTheColumnsItCarries(TableFormat f) {
    TableName t = customers(f, "partial");
    ingest(
        t, file(f + "-full.csv", "customer_id,name,email,score\n1,ann,a@x,10\n"), SourceFormat.CSV);

    var r = ingest(t, file(f + "-part.csv", "customer_id,score\n1,11\n5,50\n"), SourceFormat.CSV);

    assertThat(r.rowsWritten()).isEqualTo(2);
    // customer 1 keeps name and email; the new key 5 gets NULL in the columns the file lacks
    assertThat(rows(f, t)).containsExactly("[1,ann,a@x,11]", "[5,null,null,50]");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aFileWithOnlyTheKeyInsertsNewKeysAndChangesNoExistingRow(TableFormat f) {
    TableName t = customers(f, "keys_only");
    ingest(
        t, file(f + "-k1.csv", "customer_id,name,email,score\n1,ann,a@x,10\n"), SourceFormat.CSV);

    ingest(t, file(f + "-k2.csv", "customer_id\n1\n2\n"), SourceFormat.CSV);

    assertThat(rows(f, t)).containsExactly("[1,ann,a@x,10]", "[2,null,null,null]");
  }

  @Test
  void aMissingNotNullColumnIsAnErrorNamingIt() {
    TableName t =
        apply(
            TableFormat.DELTA,
            "safe_delta.required",
            """
            - {name: name, type: string, nullable: false}
            - {name: score, type: int}""",
            "primary-key: [customer_id]");
    Path part = file("required.csv", "customer_id,score\n1,10\n");

    assertThatThrownBy(() -> ingest(t, part, SourceFormat.CSV))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("lacks the NOT NULL columns [name]");
    assertThat(rows(TableFormat.DELTA, t)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void valuesThatDoNotFitAreBadRowsNeverCoerced(TableFormat f) throws Exception {
    TableName t =
        apply(
            f,
            "safe_" + f.label() + ".fit",
            """
            - {name: n, type: bigint}
            - {name: amount, type: 'decimal(10,2)'}
            - {name: at, type: timestamp_ntz}
            - {name: day, type: date}""",
            "primary-key: [customer_id]");
    Path json =
        file(
            f + "-fit.json",
            String.join(
                "\n",
                "{\"customer_id\": 1, \"n\": 1.9}",
                "{\"customer_id\": 2, \"n\": 2.0, \"amount\": 1.25}",
                "{\"customer_id\": 3, \"amount\": 1.239}",
                "{\"customer_id\": 4, \"amount\": 123456789012.5}",
                "{\"customer_id\": 5, \"at\": \"2026-12-01 07:35:00+02:00\"}",
                "{\"customer_id\": 6, \"at\": \"2026-12-01 07:35:00\", \"day\": \"2026-12-01\"}",
                "{\"customer_id\": 7, \"day\": \"2026-12-01 10:00:00\"}",
                "{\"customer_id\": 8, \"n\": 1e30}",
                ""));

    assertThatThrownBy(() -> ingest(t, json, SourceFormat.JSON))
        .isInstanceOf(LakehouseException.class)
        .hasMessageContaining("6 of 8 rows do not fit the table")
        .hasMessageContaining("Nothing was written");
    assertThat(rows(f, t)).isEmpty();

    Path bad = home.resolve("bad-" + f);
    var r =
        IngestJob.builder(t, json.toString(), SourceFormat.JSON)
            .optBadRowsPath(bad.toString())
            .build()
            .run(spark);

    assertThat(r.rowsWritten()).isEqualTo(2);
    assertThat(r.rowsRejected()).isEqualTo(6);
    assertThat(rows(f, t))
        .containsExactly("[2,2,1.25,null,null]", "[6,null,null,2026-12-01T07:35,2026-12-01]");
    List<String> reasons =
        spark.read().json(bad.toString()).orderBy("customer_id").collectAsList().stream()
            .map(
                row ->
                    row.getLong(row.fieldIndex("customer_id"))
                        + ": "
                        + row.getString(row.fieldIndex(IngestJob.ERROR_COLUMN)))
            .toList();
    assertThat(reasons)
        .containsExactly(
            "1: column `n`: value 1.9 would be stored as 1 in BIGINT",
            "3: column `amount`: value 1.239 would be stored as 1.24 in DECIMAL(10,2)",
            "4: column `amount`: value '1.234567890125E11' is not a valid DECIMAL(10,2)",
            "5: column `at`: value '2026-12-01 07:35:00+02:00' carries a time zone, which a"
                + " timestamp_ntz column cannot keep (remove the zone, or declare the column"
                + " timestamp)",
            "7: column `day`: value '2026-12-01 10:00:00' has a time of day, which a date column"
                + " would drop",
            "8: column `n`: value '1.0E30' is not a valid BIGINT");
  }

  @Test
  void csvNumbersWithFractionsOrExtraDecimalsAreBadRows() {
    TableName t =
        apply(
            TableFormat.DELTA,
            "safe_delta.fit_csv",
            """
            - {name: n, type: int}
            - {name: amount, type: 'decimal(6,2)'}""",
            "primary-key: [customer_id]");
    // casts are ANSI: "2.0" is not an int either (write it as 2)
    Path csv = file("fit.csv", "customer_id,n,amount\n1,1.9,\n2,2.0,1.50\n3,,1.005\n4,7,9999.99\n");
    Path bad = home.resolve("bad-csv");

    var r =
        IngestJob.builder(t, csv.toString(), SourceFormat.CSV)
            .optBadRowsPath(bad.toString())
            .build()
            .run(spark);

    assertThat(r.rowsRejected()).isEqualTo(3);
    assertThat(rows(TableFormat.DELTA, t)).containsExactly("[4,7,9999.99]");
    assertThat(
            spark.read().json(bad.toString()).orderBy("customer_id").collectAsList().stream()
                .map(row -> row.getString(row.fieldIndex(IngestJob.ERROR_COLUMN)))
                .toList())
        .containsExactly(
            "column `n`: value '1.9' is not a valid INT",
            "column `n`: value '2.0' is not a valid INT",
            "column `amount`: value '1.005' has more than 2 decimal places for DECIMAL(6,2)");
  }

  @Test
  void badRowsAreWrittenOnlyAfterTheTableCommitSucceeds() {
    TableName t = customers(TableFormat.DELTA, "bad_after");
    // a rule only the table's format knows, so the write fails after validation, at commit time
    dev.lakeforge.lakehouse.access.AccessScope.internal(
        () -> spark.sql("ALTER TABLE " + t + " ADD CONSTRAINT score_positive CHECK (score > 0)"));
    Path csv = file("ba.csv", "customer_id,name,score\n1,ann,0\n2,bob,x\n");
    Path bad = home.resolve("bad-after");
    IngestJob job =
        IngestJob.builder(t, csv.toString(), SourceFormat.CSV)
            .optBadRowsPath(bad.toString())
            .build();

    assertThatThrownBy(() -> job.run(spark)).hasMessageContaining("score_positive");
    assertThat(bad).doesNotExist();
    assertThat(rows(TableFormat.DELTA, t)).isEmpty();

    Path fixed = file("ba-fixed.csv", "customer_id,name,score\n1,ann,1\n2,bob,x\n");
    var ok =
        IngestJob.builder(t, fixed.toString(), SourceFormat.CSV)
            .optBadRowsPath(bad.toString())
            .build()
            .run(spark);
    assertThat(ok.rowsRejected()).isEqualTo(1);
    assertThat(bad).isDirectory();
    assertThat(spark.read().json(bad.toString()).count()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void overwriteReplacesTheWholeTableWhateverTheCallersSessionSays(TableFormat f) {
    TableName t =
        apply(
            f,
            "safe_" + f.label() + ".overwrite",
            """
            - {name: country, type: string}""",
            "partition-by: [country]");
    append(t, file(f + "-o1.csv", "customer_id,country\n1,DE\n2,FR\n"));
    spark.conf().set("spark.sql.sources.partitionOverwriteMode", "dynamic"); // a notebook's setting
    try {
      IngestJob.builder(
              t, file(f + "-o2.csv", "customer_id,country\n3,DE\n").toString(), SourceFormat.CSV)
          .optMode(WriteMode.OVERWRITE)
          .build()
          .run(spark);
    } finally {
      spark.conf().unset("spark.sql.sources.partitionOverwriteMode");
    }

    assertThat(rows(f, t)).containsExactly("[3,DE]"); // FR is gone too: the whole table
  }

  @Test
  void aTransactionIdLeftInTheCallersSessionDoesNotSwallowTheJobsWrite() {
    TableName t = customers(TableFormat.DELTA, "caller_txn");
    spark.conf().set(DeltaOperations.TXN_APP_ID, "notebook-app");
    spark.conf().set(DeltaOperations.TXN_VERSION, "1");
    try {
      spark.sql("select 9L as customer_id").createOrReplaceTempView("nb");
      dev.lakeforge.lakehouse.access.AccessScope.internal(
          () -> spark.sql("INSERT INTO " + t + " (customer_id) SELECT customer_id FROM nb"));
      // the notebook's own transaction is now recorded in the table: an ingest carrying it would
      // be skipped by Delta as already done
      var r = ingest(t, file("caller-txn.csv", "customer_id,name\n1,ann\n"), SourceFormat.CSV);
      assertThat(r.rowsWritten()).isEqualTo(1);
    } finally {
      spark.conf().unset(DeltaOperations.TXN_APP_ID);
      spark.conf().unset(DeltaOperations.TXN_VERSION);
    }
    assertThat(rows(TableFormat.DELTA, t))
        .containsExactly("[1,ann,null,null]", "[9,null,null,null]");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void zoneLessTimestampsInFilesAreUtcInEverySessionZone(TableFormat f) {
    TableName t = apply(f, "safe_" + f.label() + ".times", "- {name: at, type: timestamp}", "");
    long expected = Instant.parse("2026-12-01T07:35:00Z").getEpochSecond();
    for (String zone : List.of("America/Los_Angeles", "Asia/Tokyo")) {
      spark.conf().set("spark.sql.session.timeZone", zone);
      try {
        append(
            t,
            file(f + zone.replace('/', '_') + ".csv", "customer_id,at\n1,2026-12-01 07:35:00\n"));
      } finally {
        spark.conf().set("spark.sql.session.timeZone", "UTC");
      }
    }
    assertThat(
            spark.sql("select unix_timestamp(at) from " + sqlName(f, t)).collectAsList().stream()
                .map(r -> r.getLong(0))
                .toList())
        .containsExactly(expected, expected);
  }

  // ---- concurrent writers -------------------------------------------------------------------

  /** Holds writer A inside its statement until writer B has committed. */
  private static volatile CountDownLatch aReading;

  private static volatile CountDownLatch bCommitted;

  private static Dataset<Row> gated(SparkSession s, TableName t, long... ids) {
    s.udf()
        .register(
            "lf_gate",
            (UDF1<Long, Long>)
                id -> {
                  aReading.countDown();
                  if (!bCommitted.await(120, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("writer B never committed");
                  }
                  return id;
                },
            DataTypes.LongType);
    List<Row> data =
        java.util.Arrays.stream(ids)
            .mapToObj(i -> org.apache.spark.sql.RowFactory.create(i, "a" + i, null, (int) i))
            .toList();
    return s.createDataFrame(data, Lakehouse.open(s).spec(t).schema())
        .coalesce(1)
        .withColumn("customer_id", call_udf("lf_gate", col("customer_id")));
  }

  /**
   * Starts writer A: a MERGE of {@code ids} into {@code t} through {@link Committer} (at most
   * {@code attempts} attempts) whose source waits at the gate until writer B has committed; returns
   * once A is inside its statement.
   */
  private static CompletableFuture<Committer.Outcome> startGatedWriter(
      TableName t, String runId, int attempts, long... ids) throws InterruptedException {
    Lakehouse lh = Lakehouse.open(spark);
    TableOperations ops = lh.operations(lh.spec(t).format());
    aReading = new CountDownLatch(1);
    bCommitted = new CountDownLatch(1);
    SparkSession a = WriteSession.of(spark);
    String view = "writer_" + runId.replace('-', '_');
    gated(a, t, ids).createOrReplaceTempView(view);
    String merge =
        "MERGE INTO "
            + lh.sqlName(lh.spec(t))
            + " t USING "
            + view
            + " s ON t.customer_id = s.customer_id"
            + " WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *";
    CompletableFuture<Committer.Outcome> writer =
        CompletableFuture.supplyAsync(
            () ->
                Committer.commit(
                    ops,
                    a,
                    t,
                    new CommitTag(runId, Optional.empty()),
                    () -> a.sql(merge).collect(),
                    attempts));
    assertThat(aReading.await(120, TimeUnit.SECONDS)).as("writer A started").isTrue();
    return writer;
  }

  /**
   * Writer A reads the table, then waits inside its MERGE (a gate in its source) until writer B has
   * merged other new keys; A's commit then conflicts, is retried on B's version, and both land. The
   * versions each records are the ones each committed.
   */
  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void concurrentMergesBothLandAndEachRecordsItsOwnVersion(TableFormat f) throws Exception {
    TableName t = customers(f, "race");
    ingest(t, file(f + "-race-0.csv", "customer_id,name\n100,first\n"), SourceFormat.CSV);
    CompletableFuture<Committer.Outcome> writerA =
        startGatedWriter(t, "run-a", Committer.ATTEMPTS_DEFAULT, 1, 2, 3);
    var b =
        ingest(
            t,
            file(f + "-race-b.csv", "customer_id,name,score\n10,b10,10\n11,b11,11\n"),
            SourceFormat.CSV);
    bCommitted.countDown();
    Committer.Outcome outcomeA = writerA.get(300, TimeUnit.SECONDS);

    assertThat(outcomeA.attempts()).as("A conflicted with B and was retried").isEqualTo(2);
    Lakehouse lh = Lakehouse.open(spark);
    TableOperations ops = lh.operations(f);
    assertThat(rows(f, t)).hasSize(6);
    assertThat(outcomeA.committed()).isEqualTo(ops.committedBy(t, "run-a"));
    assertThat(outcomeA.committed().getAsLong()).isNotEqualTo(b.versionAfter());
    assertThat(ops.currentVersion(t)).isEqualTo(outcomeA.committed().getAsLong());
    // B's run and lineage name B's own commit, not the latest version of the table
    RunLog.Run bRun =
        lh.runs().recent(20).stream()
            .filter(
                r ->
                    r.job().equals("tables.ingest")
                        && r.parameters().get("source").endsWith(f + "-race-b.csv"))
            .findFirst()
            .orElseThrow();
    assertThat(bRun.status()).isEqualTo("succeeded");
    assertThat(ops.committedBy(t, bRun.id())).hasValue(b.versionAfter());
    assertThat(
            new dev.lakeforge.catalog.Lineage(lh.catalog())
                .walk(
                    Artifact.table(t.toString(), b.versionAfter()),
                    dev.lakeforge.catalog.Lineage.Direction.UPSTREAM))
        .isNotEmpty();
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aWriteThatKeepsConflictingNamesTheOtherWritersVersion(TableFormat f) throws Exception {
    TableName t = customers(f, "giveup");
    ingest(t, file(f + "-giveup-0.csv", "customer_id,name\n100,first\n"), SourceFormat.CSV);
    CompletableFuture<Committer.Outcome> writerA = startGatedWriter(t, "run-a1", 1, 1);
    var b = ingest(t, file(f + "-giveup-b.csv", "customer_id,name\n10,b\n"), SourceFormat.CSV);
    bCommitted.countDown();

    assertThatThrownBy(() -> writerA.get(300, TimeUnit.SECONDS))
        .hasCauseInstanceOf(WriteConflictException.class)
        .cause()
        .hasMessageContaining(
            "1 attempts conflicted with concurrent writers; the last was version "
                + b.versionAfter())
        .hasMessageContaining("Nothing of this write was committed");
    assertThat(rows(f, t)).containsExactly("[10,b,null,null]", "[100,first,null,null]");
  }

  // ---- idempotent batches -----------------------------------------------------------------

  @Test
  void deltaSkipsABatchWhoseTransactionItHasSeenEvenPastTheHistoryCheck() {
    TableName t = customers(TableFormat.DELTA, "txn");
    Lakehouse lh = Lakehouse.open(spark);
    TableOperations ops = lh.operations(TableFormat.DELTA);
    SparkSession s = WriteSession.of(spark);
    s.sql("select 1L as customer_id, 'ann' as name, cast(null as string) as email, 1 as score")
        .createOrReplaceTempView("one");
    String target = lh.sqlName(lh.spec(t));
    for (String write :
        List.of(
            "INSERT INTO " + target + " SELECT * FROM one",
            "INSERT OVERWRITE " + target + " SELECT * FROM one",
            "MERGE INTO "
                + target
                + " t USING one s ON t.customer_id = s.customer_id"
                + " WHEN MATCHED THEN UPDATE SET t.score = t.score + 1"
                + " WHEN NOT MATCHED THEN INSERT *")) {
      String batch = "b-" + write.substring(0, 9).trim();
      OptionalLong first =
          ops.commit(
              s, t, new CommitTag("r1" + batch, Optional.of(batch)), () -> s.sql(write).collect());
      // a second writer that raced past containsBatch: Delta's transaction id stops it
      OptionalLong second =
          ops.commit(
              s, t, new CommitTag("r2" + batch, Optional.of(batch)), () -> s.sql(write).collect());

      assertThat(first).as(write).isPresent();
      assertThat(second).as(write).isEmpty();
      assertThat(ops.currentVersion(t)).as(write).isEqualTo(first.getAsLong());
    }
    // one row, merged once: the second MERGE did not add 1 to the score
    assertThat(rows(TableFormat.DELTA, t)).containsExactly("[1,ann,null,2]");
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aBatchIsRecognisedFromTheCommitNotTheData(TableFormat f) {
    for (WriteMode mode : List.of(WriteMode.MERGE, WriteMode.OVERWRITE)) {
      TableName t = customers(f, "batch_" + mode.name().toLowerCase(java.util.Locale.ROOT));
      Path csv = file(f + "-" + mode + "-batch.csv", "customer_id,name\n1,ann\n2,bob\n");
      IngestJob job =
          IngestJob.builder(t, csv.toString(), SourceFormat.CSV)
              .optMode(mode)
              .optBatchId("day-1")
              .build();
      var first = job.run(spark);
      new DeleteJob(t, "customer_id = 1").run(spark); // the batch's data changes afterwards

      var again = job.run(spark);

      assertThat(first.skipped()).isFalse();
      assertThat(again.skipped()).as(mode.toString()).isTrue();
      assertThat(rows(f, t)).as(mode.toString()).containsExactly("[2,bob,null,null]");
    }
  }

  // ---- runs and audit ----------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void sqlDmlIsARecordedRunWithItsOwnVersionAndAnAuditRow(TableFormat f) {
    TableName t = customers(f, "sql_dml");
    Lakehouse lh = Lakehouse.open(spark);

    lh.sql("INSERT INTO " + sqlName(f, t) + " VALUES (1, 'ann', null, 1), (2, 'bob', null, 2)")
        .collect();
    long committed = lh.operations(f).currentVersion(t);

    RunLog.Run run = lh.runs().recent(1).get(0);
    assertThat(run.job()).isEqualTo("sql");
    assertThat(run.status()).isEqualTo("succeeded");
    assertThat(run.parameters()).containsEntry("table", t.toString());
    assertThat(lh.operations(f).committedBy(t, run.id())).hasValue(committed);
    assertThat(datasetVersion(lh, t)).isEqualTo(committed);
    List<AuditLog.Entry> audit =
        new AuditLog(lh.catalog())
            .read(
                new AuditLog.Filter(Optional.empty(), Optional.of("table:" + t), Optional.empty()));
    assertThat(audit)
        .anySatisfy(
            e -> {
              assertThat(e.action()).isEqualTo("sql");
              assertThat(e.detail())
                  .isEqualTo("wrote version " + committed + " (run " + run.id() + ")");
            });
  }

  /** A catalog that refuses one kind of run update, as a database hiccup would. */
  private static void failRunUpdates(Lakehouse lh, String status) {
    lh.catalog()
        .inTransaction(
            "install a failing trigger",
            c -> {
              try (Statement st = c.createStatement()) {
                st.execute(
                    "CREATE TRIGGER hiccup BEFORE UPDATE OF status ON runs WHEN NEW.status = '"
                        + status
                        + "' BEGIN SELECT RAISE(ABORT, 'catalog hiccup'); END");
              }
              return null;
            });
  }

  private static void healCatalog(Lakehouse lh) {
    lh.catalog()
        .inTransaction(
            "drop the failing trigger",
            c -> {
              try (Statement st = c.createStatement()) {
                st.execute("DROP TRIGGER IF EXISTS hiccup");
              }
              return null;
            });
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aRunThatCouldNotBeClosedKeepsItsDataAndIsReconciledByTheNextCommand(TableFormat f)
      throws Exception {
    TableName t = customers(f, "hiccup");
    Lakehouse lh = Lakehouse.open(spark);
    failRunUpdates(lh, "succeeded");
    IngestJob.Result r;
    try {
      r = ingest(t, file(f + "-hiccup.csv", "customer_id,name\n1,ann\n"), SourceFormat.CSV);
    } finally {
      healCatalog(lh);
    }
    assertThat(r.rowsWritten()).isEqualTo(1); // returned, not thrown: the data is committed
    assertThat(rows(f, t)).hasSize(1);
    RunLog.Run open = lh.runs().recent(1).get(0);
    assertThat(open.status()).isEqualTo("running");

    // the process that ran it ends: the next command finds its commit by the run id
    Process gone = new ProcessBuilder("sleep", "30").start();
    ProcessHandle dead = gone.toHandle();
    String deadStarted = dead.info().startInstant().map(Instant::toString).orElse("");
    gone.destroy();
    gone.waitFor();
    lh.catalog()
        .inTransaction(
            "hand the run to a dead process",
            c -> {
              try (var ps =
                  c.prepareStatement(
                      "UPDATE runs SET owner_pid = ?, owner_started = ? WHERE id = ?")) {
                ps.setLong(1, dead.pid());
                ps.setString(2, deadStarted);
                ps.setString(3, open.id());
                ps.executeUpdate();
              }
              return null;
            });
    Lakehouse next = Lakehouse.open(spark);

    RunLog.Run closed =
        next.runs().recent(10).stream()
            .filter(x -> x.id().equals(open.id()))
            .findFirst()
            .orElseThrow();
    assertThat(closed.status()).isEqualTo("succeeded");
    assertThat(closed.metrics()).contains("reconciled");
    assertThat(datasetVersion(next, t)).isEqualTo(r.versionAfter());
    assertThat(
            new AuditLog(next.catalog())
                .read(
                    new AuditLog.Filter(
                        Optional.empty(), Optional.of("table:" + t), Optional.empty())))
        .anySatisfy(
            e -> {
              assertThat(e.action()).isEqualTo("run.reconcile");
              assertThat(e.detail())
                  .isEqualTo(
                      "run "
                          + open.id()
                          + " committed version "
                          + r.versionAfter()
                          + " (found in its history)");
            });
  }

  @Test
  void anErrorWhileRecordingAFailureIsAttachedToTheOriginalError() {
    TableName t = customers(TableFormat.DELTA, "fail_record");
    Lakehouse lh = Lakehouse.open(spark);
    Path bad = file("fail-record.csv", "customer_id,score\n1,not-a-number\n");
    failRunUpdates(lh, "failed");
    try {
      assertThatThrownBy(() -> ingest(t, bad, SourceFormat.CSV))
          .isInstanceOf(LakehouseException.class)
          .hasMessageContaining("1 of 1 rows do not fit the table")
          .satisfies(
              e ->
                  assertThat(e.getSuppressed())
                      .singleElement()
                      .satisfies(s -> assertThat(s).hasMessageContaining("catalog hiccup")));
    } finally {
      healCatalog(lh);
    }
  }

  @Test
  void smallBatchesShowARateAboveZero() {
    assertThat(Progress.rate(1, 9_000_000_000L)).isEqualTo("0.111 rows/s");
    assertThat(Progress.rate(12_500, 10_000_000_000L)).isEqualTo("1250 rows/s");
    assertThat(Progress.rate(0, 1_000_000_000L)).isEqualTo("0 rows/s");
    assertThat(Progress.seconds(9_040_000_000L)).isEqualTo("9.0 s");
  }
}
