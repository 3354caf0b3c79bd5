package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CatalogBackend;
import dev.lakeforge.testing.TestSignatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upload folders left by killed registrations are removed by the next registration; those the
 * catalog names (registered by a process that has ended since) are kept.
 */
class StagingCleanupTest {
  @TempDir Path dir;

  private Path upload(String model, String name) throws Exception {
    Path p = Files.createDirectories(dir.resolve("models").resolve(model).resolve(name));
    Files.writeString(p.resolve("m.pt"), "partial");
    return p;
  }

  /** Records version {@code version} of {@code model} with its artifact in {@code folder}. */
  private static void recordVersion(CatalogDatabase db, String model, int version, Path folder)
      throws Exception {
    try (Connection c = db.connect()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO models (name, owner, created_at) VALUES (?, 'ann', ?)"
                  + " ON CONFLICT (name) DO NOTHING")) {
        ps.setString(1, model);
        ps.setString(2, Instant.now().toString());
        ps.executeUpdate();
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO model_versions (model, version, flavor, artifact_uri, sha256, size_bytes,"
                  + " tags, created_by, created_at) VALUES (?, ?, 'torchscript', ?, ?, 7, '{}', 'ann', ?)")) {
        ps.setString(1, model);
        ps.setInt(2, version);
        ps.setString(3, folder.resolve("m.pt").toUri().toString());
        ps.setString(
            4,
            java.util.HexFormat.of()
                .formatHex(
                    java.security.MessageDigest.getInstance("SHA-256")
                        .digest(Files.readAllBytes(folder.resolve("m.pt")))));
        ps.setString(5, Instant.now().toString());
        ps.executeUpdate();
      }
    }
  }

  @Test
  void theNextRegistrationRemovesUploadsOfDeadOrOldOwnersThatNoVersionNames() throws Exception {
    CatalogDatabase db = CatalogBackend.SQLITE.open(dir);
    // a process that lives until its start time has been read, then ends
    Process finished = new ProcessBuilder("sleep", "30").start();
    ProcessOwner dead = ProcessOwner.of(finished.toHandle());
    finished.destroy();
    finished.waitFor();
    ProcessOwner self = ProcessOwner.current();
    ProcessOwner remote = new ProcessOwner("another-host", 4242, Optional.of(Instant.EPOCH));
    Instant now = Instant.now();
    Path deadOwner = upload("fraud", ArtifactStore.uploadName(dead, now));
    Path deadOwnerRegistered = upload("fraud", ArtifactStore.uploadName(dead, now));
    recordVersion(db, "fraud", 1, deadOwnerRegistered);
    Path live = upload("fraud", ArtifactStore.uploadName(self, now));
    Path remoteYoung = upload("churn", ArtifactStore.uploadName(remote, now));
    Path remoteOld =
        upload("churn", ArtifactStore.uploadName(remote, now.minus(Duration.ofHours(25))));
    // Staging folders of Lakeforge versions that moved artifacts into version folders.
    Path olderStagingDeadOwner =
        upload("churn", ArtifactStore.uploadName(dead, now).replaceFirst("^upload-", ".staging-"));
    Path legacyOld = upload("churn", ".staging-" + java.util.UUID.randomUUID());
    Files.setLastModifiedTime(legacyOld, FileTime.from(now.minus(Duration.ofHours(25))));
    Path legacyYoung = upload("churn", ".staging-" + java.util.UUID.randomUUID());
    Path artifact = Files.writeString(dir.resolve("m.pt"), "a model");

    ModelRegistry reg = new ModelRegistry(db, dir.resolve("models"));
    ModelVersion v1 =
        reg.register(
            new ModelRegistry.Registration(
                "churn",
                artifact,
                ModelFlavor.TORCHSCRIPT,
                TestSignatures.xToY(),
                Optional.empty(),
                Map.of()),
            new Principal("ann"));

    assertThat(deadOwner).doesNotExist();
    assertThat(remoteOld).doesNotExist();
    assertThat(olderStagingDeadOwner).doesNotExist();
    assertThat(legacyOld).doesNotExist();
    assertThat(deadOwnerRegistered).as("fraud/1 lives there").isDirectory();
    assertThat(reg.open(ModelRef.parse("fraud/1")).getParent()).isEqualTo(deadOwnerRegistered);
    assertThat(live).isDirectory();
    assertThat(remoteYoung).isDirectory();
    assertThat(legacyYoung).isDirectory();
    Path stored = reg.open(v1.ref());
    assertThat(stored).hasContent("a model").hasFileName("m.pt");
    assertThat(stored.getParent().getFileName().toString())
        .startsWith("upload-")
        .contains("-" + self.pid() + "-")
        .endsWith("-" + self.host());
    assertThat(live.getFileName().toString())
        .startsWith("upload-" + now.toEpochMilli() + "-" + self.pid() + "-")
        .endsWith("-" + self.host());
  }
}
