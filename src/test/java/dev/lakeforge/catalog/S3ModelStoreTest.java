package dev.lakeforge.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.testing.CatalogBackend;
import dev.lakeforge.testing.S3Server;
import dev.lakeforge.testing.TestSignatures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model store in a bucket of a real S3-compatible server: registration, verified download,
 * corruption.
 */
class S3ModelStoreTest {
  @TempDir Path dir;

  @Test
  void artifactsLiveInTheBucketAndAreVerifiedWhenFetched() throws Exception {
    try (S3Server s3 = S3Server.start(dir.resolve("s3"))) {
      s3.createBucket("models");
      Configuration conf = new Configuration();
      s3.configure(conf, dir);
      ModelRegistry reg =
          new ModelRegistry(
              CatalogBackend.SQLITE.open(dir), "s3a://models/store", conf, dir.resolve("cache"));
      Principal ann = new Principal("ann");
      Path file = Files.writeString(dir.resolve("scorer.pt"), "torchscript weights");
      var registration =
          new ModelRegistry.Registration(
              "scorer",
              file,
              ModelFlavor.TORCHSCRIPT,
              TestSignatures.xToY(),
              Optional.empty(),
              Map.of());

      ModelVersion v1 = reg.register(registration, ann);
      Files.writeString(file, "retrained weights");
      ModelVersion v2 = reg.register(registration, ann);
      assertThat(v1.artifactUri()).matches("s3a://models/store/scorer/upload-[^/]+/scorer\\.pt");
      FileSystem fs = new org.apache.hadoop.fs.Path("s3a://models/").getFileSystem(conf);
      assertThat(fs.exists(new org.apache.hadoop.fs.Path(v2.artifactUri()))).isTrue();
      // Only the two artifacts remain as objects: each was uploaded once, and nothing else.
      // (Folders are not
      // counted: s3proxy's
      // filesystem backend can keep an emptied staging folder on its disk for a moment, which S3
      // itself has no notion of.)
      List<String> objects = new java.util.ArrayList<>();
      var it = fs.listFiles(new org.apache.hadoop.fs.Path("s3a://models/store/scorer"), true);
      while (it.hasNext()) {
        objects.add(it.next().getPath().toString());
      }
      assertThat(objects).containsExactlyInAnyOrder(v1.artifactUri(), v2.artifactUri());

      Path local = reg.open(ModelRef.parse("scorer/1"));
      assertThat(local).startsWith(dir.resolve("cache")).hasContent("torchscript weights");

      try (FSDataOutputStream out =
          fs.create(new org.apache.hadoop.fs.Path(v2.artifactUri()), true)) {
        out.write("tampered".getBytes(StandardCharsets.UTF_8));
      }
      assertThatThrownBy(() -> reg.open(ModelRef.parse("scorer/2")))
          .isInstanceOf(CatalogException.class)
          .hasMessageContainingAll("scorer/2", v2.artifactUri(), v2.sha256(), "corrupted");
      try (var cached = Files.walk(dir.resolve("cache"))) {
        assertThat(cached.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
            .as("the cache is content-addressed and keeps verified copies only")
            .containsExactly("scorer.pt");
      }
    }
  }

  @Test
  void theFilesOfAVersionAreFetchedTogetherIntoOneVerifiedCacheFolder() throws Exception {
    try (S3Server s3 = S3Server.start(dir.resolve("s3"))) {
      // A bucket of its own: Hadoop caches file systems by bucket, and the other test's server is
      // another one.
      s3.createBucket("versions");
      Configuration conf = new Configuration();
      s3.configure(conf, dir);
      ModelRegistry reg =
          new ModelRegistry(
              CatalogBackend.SQLITE.open(dir), "s3a://versions/store", conf, dir.resolve("cache"));
      Path model = Files.writeString(dir.resolve("encoder.pt"), "torchscript weights");
      Path tokenizer = Files.writeString(dir.resolve("tokenizer.json"), "{\"vocab\": {}}");
      ModelVersion v =
          reg.register(
              new ModelRegistry.Registration(
                  "encoder",
                  List.of(model, tokenizer),
                  Optional.empty(),
                  ModelFlavor.TORCHSCRIPT,
                  TestSignatures.xToY(),
                  Optional.empty(),
                  Map.of()),
              new Principal("ann"));

      VerifiedArtifacts.LocalFiles local = reg.openFiles(v.ref());
      Path folder = dir.resolve("cache").resolve(v.sha256());
      assertThat(local.model()).isEqualTo(folder.resolve("encoder.pt"));
      assertThat(local.files())
          .containsExactly(
              Map.entry("encoder.pt", folder.resolve("encoder.pt")),
              Map.entry("tokenizer.json", folder.resolve("tokenizer.json")));
      assertThat(local.file("tokenizer.json").orElseThrow()).hasContent("{\"vocab\": {}}");

      FileSystem fs = new org.apache.hadoop.fs.Path("s3a://versions/").getFileSystem(conf);
      org.apache.hadoop.fs.Path remote =
          new org.apache.hadoop.fs.Path(
              new org.apache.hadoop.fs.Path(v.artifactUri()).getParent(), "tokenizer.json");
      try (FSDataOutputStream out = fs.create(remote, true)) {
        out.write("{\"vocab\": {\"evil\": 0}}".getBytes(StandardCharsets.UTF_8));
      }
      Files.delete(local.file("tokenizer.json").orElseThrow());
      assertThatThrownBy(() -> reg.openFiles(v.ref()))
          .isInstanceOf(CatalogException.class)
          .hasMessageContainingAll("encoder/1", remote.toString(), "changed or corrupted");
      assertThat(folder.resolve("tokenizer.json"))
          .as("a copy that fails its check is not kept")
          .doesNotExist();
    }
  }
}
