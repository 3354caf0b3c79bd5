package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Runs and the lineage derived from them, on SQLite and PostgreSQL. */
class LineageTest {
  private static final Principal ANN = new Principal("ann");
  @TempDir Path dir;

  /** Records a succeeded run of {@code job} reading {@code in} and writing {@code out}. */
  private static String run(RunLog log, String job, List<Artifact> in, List<Artifact> out) {
    RunLog.Recording r = log.start(job, ANN, Map.of("job", job));
    in.forEach(r::input);
    out.forEach(r::output);
    r.succeeded(Map.of("rows", 10));
    return r.id();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void lineageFollowsAChainOfRunsBothWays(CatalogBackend backend) {
    CatalogDatabase db = backend.open(dir);
    RunLog log = new RunLog(db);
    Artifact raw = Artifact.path("s3a://lake/raw/orders/2026-11-24");
    Artifact orders = Artifact.table("shop.orders", 3);
    Artifact customers = Artifact.table("shop.customers", 1);
    Artifact features = Artifact.table("features.customer_7d", 5);
    Artifact training = Artifact.table("training.churn", 1);
    Artifact model = Artifact.model("churn", 2);
    Artifact scores = Artifact.table("predictions.churn_scores", 4);
    run(log, "tables.ingest", List.of(raw), List.of(orders));
    run(log, "features.materialize", List.of(orders), List.of(features));
    run(log, "features.training-set", List.of(features), List.of(training));
    run(log, "models.train", List.of(training), List.of(model));
    run(log, "inference.score", List.of(model, customers), List.of(scores));
    // a failed run is not lineage, and an older version of orders feeds nothing here
    RunLog.Recording failed = log.start("inference.score", ANN, Map.of());
    failed.input(orders).output(Artifact.table("predictions.broken", 1));
    failed.failed(new IllegalStateException("executor lost"));
    run(
        log,
        "tables.ingest",
        List.of(Artifact.path("/raw/old")),
        List.of(Artifact.table("shop.orders", 2)));

    Lineage lineage = new Lineage(db);
    assertThat(lineage.walk(scores, Lineage.Direction.UPSTREAM))
        .extracting(Lineage.Edge::toString)
        .containsExactly(
            "model churn/2 -[inference.score]-> predictions.churn_scores@v4",
            "shop.customers@v1 -[inference.score]-> predictions.churn_scores@v4",
            "training.churn@v1 -[models.train]-> model churn/2",
            "features.customer_7d@v5 -[features.training-set]-> training.churn@v1",
            "shop.orders@v3 -[features.materialize]-> features.customer_7d@v5",
            "s3a://lake/raw/orders/2026-11-24 -[tables.ingest]-> shop.orders@v3");
    assertThat(lineage.walk(orders, Lineage.Direction.DOWNSTREAM))
        .extracting(e -> e.to().toString())
        .containsExactly(
            "features.customer_7d@v5",
            "training.churn@v1",
            "model churn/2",
            "predictions.churn_scores@v4");
    assertThat(lineage.walk(Artifact.parse("shop.orders"), Lineage.Direction.UPSTREAM))
        .extracting(e -> e.from().toString())
        .containsExactlyInAnyOrder("s3a://lake/raw/orders/2026-11-24", "/raw/old");

    List<RunLog.Run> runs = log.recent(10);
    assertThat(runs).hasSize(7);
    assertThat(runs)
        .filteredOn(r -> r.status().equals("failed"))
        .singleElement()
        .satisfies(r -> assertThat(r.error()).isEqualTo("executor lost"));
    assertThat(runs).allSatisfy(r -> assertThat(r.principal()).isEqualTo("ann"));
  }

  @org.junit.jupiter.api.Test
  void artifactsParseAsUsersWriteThem() {
    assertThat(Artifact.parse("shop.orders@3")).isEqualTo(Artifact.table("shop.orders", 3));
    assertThat(Artifact.parse("churn/2")).isEqualTo(Artifact.model("churn", 2));
    assertThat(Artifact.parse("s3a://b/raw")).isEqualTo(Artifact.path("s3a://b/raw"));
    assertThatThrownBy(() -> Artifact.parse("shop.orders@latest"))
        .hasMessageContainingAll("'shop.orders@latest'", "@3");
  }
}
