package dev.lakeforge.inference;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A HuggingFace tokenizer ({@code tokenizer.json}, through DJL's tokenizers, offline) for a text
 * input: special tokens added, no padding (batches are padded to their longest row by the scorer),
 * truncated to the max length when the mapping says so. One per model version, tokenizer file, max
 * length and truncation per JVM, shared by the JVM's tasks (encoding does not change it), closed
 * when the JVM exits.
 */
final class TextTokenizer {
  private static final Map<Key, TextTokenizer> CACHE = new ConcurrentHashMap<>();
  private static final AtomicBoolean HOOK = new AtomicBoolean();

  static {
    // Lakeforge never downloads at run time: DJL would otherwise try to phone home and fetch
    // natives. An explicit setting by the user wins.
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
  }

  private record Key(
      String model, int version, String sha256, String file, int maxLength, boolean truncation) {}

  /**
   * One row's tokens.
   *
   * @param ids the token ids, special tokens included
   * @param typeIds the token type (segment) ids
   */
  record Tokens(long[] ids, long[] typeIds) {}

  private final HuggingFaceTokenizer tokenizer;

  private TextTokenizer(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /**
   * The JVM's tokenizer for {@code text} from the verified {@code file} of {@code model}, loading
   * it on first use.
   */
  static TextTokenizer of(ModelSpec model, Path file, InputMapping.Text text) {
    Key key =
        new Key(
            model.model(),
            model.version(),
            model.sha256(),
            file.getFileName().toString(),
            text.maxLength(),
            text.truncation());
    return CACHE.computeIfAbsent(key, k -> load(model, file, text));
  }

  private static TextTokenizer load(ModelSpec model, Path file, InputMapping.Text text) {
    String length = Integer.toString(text.maxLength());
    Map<String, String> options =
        Map.of(
            "addSpecialTokens",
            "true",
            "padding",
            "false",
            "truncation",
            Boolean.toString(text.truncation()),
            "maxLength",
            length,
            "modelMaxLength",
            length);
    try {
      HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(file, options);
      if (HOOK.compareAndSet(false, true)) {
        Runtime.getRuntime()
            .addShutdownHook(new Thread(TextTokenizer::closeAll, "lakeforge-tokenizers-close"));
      }
      return new TextTokenizer(t);
    } catch (IOException | RuntimeException e) {
      throw new InferenceException(
          String.format(
              "Cannot load the tokenizer %s of model %s: %s. Register the version with a HuggingFace"
                  + " tokenizer.json.",
              file.getFileName(), model, e.getMessage()),
          e);
    }
  }

  /** Tokenizes {@code text}: special tokens added, truncated when the mapping says so. */
  Tokens encode(String text) {
    Encoding e = tokenizer.encode(text);
    return new Tokens(e.getIds(), e.getTypeIds());
  }

  private static void closeAll() {
    CACHE.values().forEach(t -> t.tokenizer.close());
    CACHE.clear();
  }
}
