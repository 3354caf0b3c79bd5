package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.TableName;
import dev.lakeforge.testing.CatalogBackend;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Registering a model holds no catalog lock while the artifact is written: the upload happens
 * before the one short transaction that records it, and access checks only read the grants (their
 * audit row is its own short transaction). A concurrent {@code lakeforge sql} therefore does its
 * catalog work in well under a second while an upload is stalled. And a registration whose record
 * transaction fails leaves no files behind.
 */
class SlowUploadTest {
  /** How long the catalog part of a {@code sql} command may take while an upload is stalled. */
  private static final Duration SQL_BUDGET = Duration.ofSeconds(1);

  /** A guard against a hung test, never a synchronisation: every wait below ends by an event. */
  private static final long GUARD_SECONDS = 120;

  private static final Object REGISTERED = new Object();
  private static final TableName ORDERS = TableName.parse("shop.orders");

  @TempDir Path dir;

  private static String sha256(Path file) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  private static ModelRegistry.Registration registration(String name, Path file) {
    return new ModelRegistry.Registration(
        name, file, ModelFlavor.TORCHSCRIPT, TestSignatures.xToY(), Optional.empty(), Map.of());
  }

  private static List<Path> filesUnder(Path root) throws Exception {
    if (!Files.exists(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static Path localPath(String gatedUri) {
    return Path.of(java.net.URI.create(gatedUri).getPath());
  }

  /**
   * The catalog work of {@code lakeforge sql "SELECT * FROM shop.orders"} run as bob by an actor
   * allowed to impersonate him: the session principal (verified and audited), the SELECT check
   * (audited), the masks and row filters, plus a read of the model registry. Returns how long it
   * took.
   */
  private static Duration sqlCatalogWork(CatalogDatabase db, ModelRegistry reg) {
    long start = System.nanoTime();
    // What sessionPrincipal(db, "bob") does in a fresh sql process (this JVM would remember it).
    Principal bob = new AccessControl(db).actAs(Identity.current(), "bob");
    new AccessControl(db).require(bob, Privilege.SELECT, AccessControl.table(ORDERS));
    new AccessPolicies(db).appliedTo(bob, ORDERS);
    assertThat(reg.versions("churn"))
        .as("a registration still uploading is not visible")
        .extracting(ModelVersion::version)
        .containsExactly(1);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aSlowUploadDoesNotBlockAConcurrentSql(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    GatedFileSystem.Gate gate = new GatedFileSystem.Gate();
    Configuration conf = GatedFileSystem.configure(new Configuration(), gate);
    ModelRegistry reg =
        new ModelRegistry(
            db, GatedFileSystem.SCHEME + "://" + dir.resolve("models"), conf, dir.resolve("cache"));
    Principal admin = Identity.current(); // the first to be checked: the catalog's admin
    new AccessControl(db).grant(admin, Privilege.SELECT, "namespace:shop", "bob", false);
    Path file = Files.writeString(dir.resolve("m.pt"), "v1");
    String v1Sha = sha256(file);
    ModelVersion v1 = reg.register(registration("churn", file), admin);
    Files.writeString(file, "retrained weights, slow to upload");

    // Once before the stall, so the times below are waits, not first-use costs; also the baseline.
    Duration unstalled = sqlCatalogWork(db, reg);

    gate.close();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<Duration> sqlTimes = new ArrayList<>();
    ModelVersion v2;
    try {
      Future<ModelVersion> registering =
          pool.submit(
              () -> {
                try {
                  return reg.register(registration("churn", file), admin);
                } finally {
                  gate.events().add(REGISTERED);
                }
              });
      // Every write of the registration to the store stops until it is resumed; while each one is
      // stopped, the catalog work of a sql command must finish, and fast.
      for (Object event = gate.events().poll(GUARD_SECONDS, TimeUnit.SECONDS);
          event != REGISTERED;
          event = gate.events().poll(GUARD_SECONDS, TimeUnit.SECONDS)) {
        assertThat(event).as("an upload or the end of the registration").isNotNull();
        GatedFileSystem.Gate.Paused upload = (GatedFileSystem.Gate.Paused) event;
        Duration took =
            pool.submit(() -> sqlCatalogWork(db, reg)).get(GUARD_SECONDS, TimeUnit.SECONDS);
        sqlTimes.add(took);
        assertThat(registering).as("the upload of %s is still stalled", upload.file()).isNotDone();
        assertThat(took)
            .as("the catalog work of sql while %s is being uploaded", upload.file())
            .isLessThan(SQL_BUDGET);
        upload.resume();
      }
      v2 = registering.get();
    } finally {
      pool.shutdownNow();
    }
    System.out.printf(
        "%s: sql's catalog work took %s while the upload was stalled (%s without an upload)%n",
        backend, sqlTimes, unstalled);

    assertThat(sqlTimes)
        .as("the artifact is written once, at its final place (no copy-on-rename afterwards)")
        .hasSize(1);
    assertThat(v2.version()).isEqualTo(2);
    assertThat(v2.sha256()).isEqualTo(sha256(file));
    assertThat(v2.sizeBytes()).isEqualTo(Files.size(file));
    assertThat(reg.open(ModelRef.parse("churn/2"))).hasSameTextualContentAs(file);
    assertThat(filesUnder(dir.resolve("models")))
        .as("the two artifacts, and nothing staged")
        .containsExactlyInAnyOrder(localPath(v1.artifactUri()), localPath(v2.artifactUri()));

    AuditLog audit = new AuditLog(db);
    List<AuditLog.Entry> entries = audit.read(AuditLog.Filter.all());
    assertThat(entries)
        .filteredOn(e -> e.action().equals("model.register"))
        .extracting(AuditLog.Entry::object, AuditLog.Entry::detail)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "model:churn/1", "sha256=" + v1Sha + " size=2 flavor=torchscript"),
            org.assertj.core.groups.Tuple.tuple(
                "model:churn/2",
                "sha256=" + v2.sha256() + " size=" + v2.sizeBytes() + " flavor=torchscript"));
    assertThat(entries)
        .filteredOn(e -> e.action().equals("access.select") && e.principal().equals("bob"))
        .as("each sql check was audited, under bob, with the actor")
        .hasSize(1 + sqlTimes.size())
        .allSatisfy(
            e -> {
              assertThat(e.outcome()).isEqualTo(AuditLog.ALLOWED);
              assertThat(e.actor()).isEqualTo(admin.name());
            });
    assertThat(entries)
        .filteredOn(e -> e.action().equals("access.impersonate"))
        .hasSize(1 + sqlTimes.size());
    assertThat(audit.verify().intact()).as("the hash chain holds").isTrue();
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void anUploadThatFailsLeavesNoFilesAndNoVersion(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    GatedFileSystem.Gate gate = new GatedFileSystem.Gate();
    Configuration conf = GatedFileSystem.configure(new Configuration(), gate);
    ModelRegistry reg =
        new ModelRegistry(
            db, GatedFileSystem.SCHEME + "://" + dir.resolve("models"), conf, dir.resolve("cache"));
    Principal ann = new Principal("ann");
    Path file = Files.writeString(dir.resolve("m.pt"), "weights");

    gate.close();
    CompletableFuture<ModelVersion> failed = new CompletableFuture<>();
    Thread registering =
        new Thread(
            () -> {
              try {
                failed.complete(reg.register(registration("churn", file), ann));
              } catch (RuntimeException e) {
                failed.completeExceptionally(e);
              }
            });
    registering.start();
    assertThat(gate.events().poll(GUARD_SECONDS, TimeUnit.SECONDS))
        .as("the upload started")
        .isInstanceOf(GatedFileSystem.Gate.Paused.class);
    registering.interrupt(); // the upload fails mid-way, as a lost connection would
    assertThatThrownBy(() -> failed.get(GUARD_SECONDS, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(CatalogException.class)
        .hasMessageContainingAll(
            "Cannot upload " + file, "interrupted", "reachable and writable, then register again");
    registering.join();

    assertThat(filesUnder(dir.resolve("models"))).as("nothing left in the store").isEmpty();
    assertThat(reg.models()).isEmpty();
    gate.open();
    assertThat(reg.register(registration("churn", file), ann).version())
        .as("the failed upload took no version number")
        .isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(CatalogBackend.class)
  void aFailedRecordTransactionLeavesNoFilesInTheStore(CatalogBackend backend) throws Exception {
    CatalogDatabase db = backend.open(dir);
    ModelRegistry reg = new ModelRegistry(db, dir.resolve("models"));
    Principal ann = new Principal("ann");
    new AccessControl(db).require(ann, Privilege.ADMIN, "*");
    // The database itself refuses the version row, after the artifact was uploaded.
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      if (backend == CatalogBackend.SQLITE) {
        s.execute(
            "CREATE TRIGGER refuse_versions BEFORE INSERT ON model_versions"
                + " BEGIN SELECT RAISE(ABORT, 'model_versions refuses rows in this test'); END");
      } else {
        s.execute(
            "CREATE FUNCTION refuse_versions() RETURNS trigger LANGUAGE plpgsql AS"
                + " $$ BEGIN RAISE EXCEPTION 'model_versions refuses rows in this test'; END $$");
        s.execute(
            "CREATE TRIGGER refuse_versions BEFORE INSERT ON model_versions"
                + " FOR EACH ROW EXECUTE FUNCTION refuse_versions()");
      }
    }
    Path file = Files.writeString(dir.resolve("m.pt"), "weights");

    assertThatThrownBy(() -> reg.register(registration("churn", file), ann))
        .isInstanceOf(CatalogException.class)
        .hasMessageContainingAll("register model churn", "model_versions refuses rows");

    assertThat(filesUnder(dir.resolve("models"))).as("nothing left in the store").isEmpty();
    assertThat(reg.models()).as("no model row either").isEmpty();
    assertThat(new AuditLog(db).read(AuditLog.Filter.all()))
        .noneMatch(e -> e.action().equals("model.register"));
  }
}
