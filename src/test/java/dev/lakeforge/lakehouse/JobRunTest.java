package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.AccessDeniedException;
import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.Lineage;
import dev.lakeforge.catalog.Principal;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.TableName;
import dev.lakeforge.testing.SparkTestBase;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Lakehouse#run}: the API the layers above the lakehouse write tables through — privileges
 * checked before the run starts, undeclared tables refused, batches committed once, lineage of the
 * versions read and committed.
 */
class JobRunTest extends SparkTestBase {
  private static TableName table(TableFormat f, String name) {
    TableSpec spec =
        dev.lakeforge.core.YamlSpecReader.parse(
            """
            name: jobrun_%s.%s
            format: %s
            columns:
              - {name: id, type: bigint, nullable: false}
              - {name: v, type: string}
            """
                .formatted(f.label(), name, f.label()),
            TableSpec.class,
            "test spec");
    new ApplyTablesJob(List.of(spec)).run(spark);
    return spec.name();
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aBatchCommitsOnceAndTheRunRecordsWhatItReadAndWrote(TableFormat f) {
    Lakehouse lh = Lakehouse.open(spark);
    TableName in = table(f, "src");
    TableName out = table(f, "dst");
    lh.sql("INSERT INTO " + lh.sqlName(lh.spec(in)) + " VALUES (1, 'a'), (2, 'b')");
    long inVersion = lh.currentVersion(in);

    String runId =
        lh.run(
            "test.copy",
            Map.of(),
            List.of(in),
            List.of(out),
            run -> {
              var rows = run.read(in, OptionalLong.empty());
              Runnable insert =
                  () -> rows.write().mode("append").insertInto(lh.sqlName(lh.spec(out)));
              JobRun.Commit first = run.commit(out, Optional.of("copy-1"), insert);
              JobRun.Commit again = run.commit(out, Optional.of("copy-1"), insert);
              assertThat(first.committed()).isPresent();
              assertThat(first.skipped()).isFalse();
              assertThat(again.skipped()).isTrue();
              assertThat(again.committed()).isEmpty();
              assertThat(run.containsBatch(out, "copy-1")).isTrue();
              return run.id();
            },
            id -> Map.of("rows", 2));

    assertThat(spark.sql("select count(*) from " + lh.sqlName(lh.spec(out))).first().getLong(0))
        .isEqualTo(2);
    RunLog.Run run =
        lh.runs().recent(20).stream().filter(r -> r.id().equals(runId)).findFirst().orElseThrow();
    assertThat(run.status()).isEqualTo("succeeded");
    assertThat(
            new Lineage(lh.catalog())
                .walk(
                    Artifact.table(out.toString(), lh.currentVersion(out)),
                    Lineage.Direction.UPSTREAM))
        .extracting(Lineage.Edge::from, Lineage.Edge::runId)
        .first()
        .isEqualTo(
            org.assertj.core.groups.Tuple.tuple(Artifact.table(in.toString(), inVersion), runId));
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void undeclaredTablesAndMissingPrivilegesAreRefusedBeforeTheRunStarts(TableFormat f) {
    Lakehouse lh = Lakehouse.open(spark);
    TableName in = table(f, "src2");
    TableName out = table(f, "dst2");
    long before = lh.currentVersion(out);

    assertThatThrownBy(
            () ->
                lh.run(
                    "test.sneaky",
                    Map.of(),
                    List.of(),
                    List.of(out),
                    run -> run.read(in, OptionalLong.empty()),
                    r -> Map.of()))
        .hasMessageContaining("did not declare " + in + " as a table it reads");
    assertThatThrownBy(
            () ->
                lh.run(
                    "test.sneaky",
                    Map.of(),
                    List.of(in),
                    List.of(),
                    run -> run.commit(out, Optional.empty(), () -> {}),
                    r -> Map.of()))
        .hasMessageContaining("did not declare " + out + " as a table it writes");

    spark.conf().set(Principal.SPARK_CONF, "analyst");
    try {
      int[] bodies = {0};
      assertThatThrownBy(
              () ->
                  Lakehouse.open(spark)
                      .run(
                          "test.denied",
                          Map.of(),
                          List.of(in),
                          List.of(out),
                          run -> bodies[0]++,
                          r -> Map.of()))
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageContaining("does not hold SELECT on table:" + in);
      assertThat(bodies[0]).isZero();
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
    assertThat(lh.currentVersion(out)).isEqualTo(before);
  }

  @ParameterizedTest
  @EnumSource(TableFormat.class)
  void aJobCannotReadATableThroughARowFilterOrMask(TableFormat f) {
    Lakehouse lh = Lakehouse.open(spark);
    TableName in = table(f, "filtered");
    TableName out = table(f, "derived");
    new dev.lakeforge.catalog.AccessControl(lh.catalog())
        .grant(
            lh.principal(), dev.lakeforge.catalog.Privilege.SELECT, "table:" + in, "clerk", false);
    new dev.lakeforge.catalog.AccessControl(lh.catalog())
        .grant(
            lh.principal(), dev.lakeforge.catalog.Privilege.MODIFY, "table:" + out, "clerk", false);
    dev.lakeforge.lakehouse.access.Policies.of(spark).rowFilter(in, "clerk", false, "id = 1");

    spark.conf().set(Principal.SPARK_CONF, "clerk");
    try {
      assertThatThrownBy(
              () ->
                  Lakehouse.open(spark)
                      .run(
                          "test.unmask",
                          Map.of(),
                          List.of(in),
                          List.of(out),
                          run -> run.read(in, OptionalLong.empty()).count(),
                          r -> Map.of()))
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageContaining(
              "test.unmask cannot read table "
                  + in
                  + " as principal clerk: a column mask or row filter applies to clerk on it");
    } finally {
      spark.conf().unset(Principal.SPARK_CONF);
    }
  }
}
