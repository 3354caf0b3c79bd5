package dev.lakeforge.catalog;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.YamlSpecReader;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The list of files of a multi-file model version, stored as {@value #NAME} next to them in the
 * version's upload folder. The catalog records the manifest as the version's artifact, with the
 * manifest's own sha256: verifying the manifest against the catalog, then each file against the
 * manifest, verifies the whole version, with no change to the catalog's schema. A single-file
 * version has no manifest; its artifact is the file itself.
 *
 * @param files the files, in the order they were given; exactly one is the model
 */
record VersionManifest(@JsonProperty("files") List<ModelFile> files) {
  /** The manifest's file name; no registered file may take it. */
  static final String NAME = "lakeforge-version.json";

  VersionManifest {
    if (files == null || files.size() < 2) {
      throw new SpecException("A version manifest lists two or more files.");
    }
    files = List.copyOf(files);
    Set<String> names = new HashSet<>();
    for (ModelFile f : files) {
      if (!names.add(f.name()) || f.name().equals(NAME)) {
        throw new SpecException("A version manifest lists file " + f.name() + " twice.");
      }
    }
    if (files.stream().filter(ModelFile::model).count() != 1) {
      throw new SpecException("A version manifest marks exactly one file as the model.");
    }
  }

  /** Whether the artifact at {@code uri} is a manifest (else it is the model file itself). */
  static boolean isManifest(String uri) {
    return new org.apache.hadoop.fs.Path(uri).getName().equals(NAME);
  }

  ModelFile model() {
    return files.stream().filter(ModelFile::model).findFirst().orElseThrow();
  }

  String toJson() {
    return YamlSpecReader.toJson(this);
  }

  /** Parses a manifest; {@code source} names it in messages. */
  static VersionManifest parse(String json, String source) {
    return YamlSpecReader.parse(json, VersionManifest.class, source);
  }
}
