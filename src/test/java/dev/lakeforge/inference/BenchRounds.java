package dev.lakeforge.inference;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.lakeforge.bench.BenchFiles;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * What the throughput benchmarks of {@code bench/infer} share: variants run in rounds (an untimed
 * warm-up round, then {@code repeats} rounds with the variants' order rotated from round to round),
 * the median rows/s of each, ratios between them, and the ONNX Runtime session a naive per-row UDF
 * loads lazily once per JVM.
 */
final class BenchRounds {
  private BenchRounds() {}

  /** One way of scoring the same rows: its letter ({@code a}…; upper case for a primed one). */
  record Variant(char letter, String name, Supplier<Double> rowsPerSecond) {}

  /**
   * The median rows/s of each variant over {@code repeats} rounds after a warm-up round, in the
   * order given; progress on stderr. {@code beforeRound} is told each round's number (0: warm-up).
   */
  static Map<Character, Double> medians(
      List<Variant> variants, int repeats, IntConsumer beforeRound) {
    Map<Character, List<Double>> rates = new LinkedHashMap<>();
    variants.forEach(v -> rates.put(v.letter(), new ArrayList<>()));
    for (int r = 0; r <= repeats; r++) {
      beforeRound.accept(r);
      for (int i = 0; i < variants.size(); i++) {
        Variant v = variants.get((i + r) % variants.size());
        double rate = v.rowsPerSecond().get();
        System.err.printf(
            "round %d%s %s: %.0f rows/s%n", r, r == 0 ? " (warm-up)" : "", v.name(), rate);
        if (r > 0) {
          rates.get(v.letter()).add(rate);
        }
      }
    }
    Map<Character, Double> medians = new LinkedHashMap<>();
    rates.forEach((k, v) -> medians.put(k, BenchFiles.median(v)));
    return medians;
  }

  /** Prints {@code (x) / (y) = } the ratio of two medians, when both variants ran. */
  static void ratio(
      PrintStream report, Map<Character, Double> medians, char x, char y, String format) {
    Double a = medians.get(x);
    Double b = medians.get(y);
    if (a != null && b != null) {
      report.printf(Locale.ROOT, "- %s / %s = " + format + "%n", label(x), label(y), a / b);
    }
  }

  private static String label(char letter) {
    return Character.isUpperCase(letter)
        ? "(" + Character.toLowerCase(letter) + "′)"
        : "(" + letter + ")";
  }

  /** A timed run that may throw a checked exception. */
  interface Timed {
    double run() throws Exception;
  }

  static Supplier<Double> unchecked(Timed t) {
    return () -> {
      try {
        return t.run();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
  }

  private static final Map<String, OrtSession> SESSIONS = new ConcurrentHashMap<>();

  /**
   * The JVM's one session of the ONNX model at {@code path}, created on first use: what a naive
   * per-row UDF does.
   */
  static OrtSession session(String path) throws OrtException {
    try {
      return SESSIONS.computeIfAbsent(
          path,
          p -> {
            try {
              return dev.lakeforge.catalog.OnnxEnvironment.get()
                  .createSession(p, new OrtSession.SessionOptions());
            } catch (OrtException e) {
              throw new IllegalStateException(e);
            }
          });
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof OrtException o) {
        throw o;
      }
      throw e;
    }
  }
}
