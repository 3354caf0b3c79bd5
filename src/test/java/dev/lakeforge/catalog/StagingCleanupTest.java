package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lakeforge.testing.CatalogBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Staging folders left by killed registrations are removed by the next registration. */
class StagingCleanupTest {
  @TempDir Path dir;

  private Path staging(String model, String name) throws Exception {
    Path p = Files.createDirectories(dir.resolve("models").resolve(model).resolve(name));
    Files.writeString(p.resolve("m.pt"), "partial");
    return p;
  }

  @Test
  void theNextRegistrationRemovesStagingOfDeadOrOldOwners() throws Exception {
    CatalogDatabase db = CatalogBackend.SQLITE.open(dir);
    Process finished = new ProcessBuilder("true").start();
    ProcessOwner dead = ProcessOwner.of(finished.toHandle());
    finished.waitFor();
    ProcessOwner self = ProcessOwner.current();
    ProcessOwner remote = new ProcessOwner("another-host", 4242, Optional.of(Instant.EPOCH));
    Instant now = Instant.now();
    Path deadOwner = staging("fraud", ArtifactStore.stagingName(dead, now));
    Path live = staging("fraud", ArtifactStore.stagingName(self, now));
    Path remoteYoung = staging("churn", ArtifactStore.stagingName(remote, now));
    Path remoteOld =
        staging("churn", ArtifactStore.stagingName(remote, now.minus(Duration.ofHours(25))));
    Path legacyOld = staging("churn", ".staging-" + java.util.UUID.randomUUID());
    Files.setLastModifiedTime(legacyOld, FileTime.from(now.minus(Duration.ofHours(25))));
    Path legacyYoung = staging("churn", ".staging-" + java.util.UUID.randomUUID());
    Path artifact = Files.writeString(dir.resolve("m.pt"), "a model");

    new ModelRegistry(db, dir.resolve("models"))
        .register(
            new ModelRegistry.Registration(
                "churn",
                artifact,
                ModelFlavor.TORCHSCRIPT,
                Optional.empty(),
                Optional.empty(),
                Map.of()),
            new Principal("ann"));

    assertThat(deadOwner).doesNotExist();
    assertThat(remoteOld).doesNotExist();
    assertThat(legacyOld).doesNotExist();
    assertThat(live).isDirectory();
    assertThat(remoteYoung).isDirectory();
    assertThat(legacyYoung).isDirectory();
    assertThat(dir.resolve("models/churn/1/m.pt")).hasContent("a model");
    assertThat(live.getFileName().toString())
        .startsWith(".staging-" + now.toEpochMilli() + "-" + self.pid() + "-")
        .endsWith("-" + self.host());
  }
}
