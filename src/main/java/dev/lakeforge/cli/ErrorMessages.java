package dev.lakeforge.cli;

import dev.lakeforge.core.LakeforgeException;
import org.apache.spark.sql.AnalysisException;

/** Turns a failure into the one paragraph the CLI prints. */
final class ErrorMessages {
  /** Set to any value to also print stack traces. */
  static final String DEBUG_ENV = "LAKEFORGE_DEBUG";

  private ErrorMessages() {}

  static String describe(Throwable e) {
    String text;
    if (e instanceof LakeforgeException) {
      text = e.getMessage();
    } else if (e instanceof AnalysisException a) {
      // Spark appends the logical plan after ";\n"; the first part names the problem and the
      // object.
      String m = a.getMessage();
      int plan = m.indexOf(";\n");
      text = plan > 0 ? m.substring(0, plan) : m;
    } else {
      text =
          String.format(
              "%s: %s (set %s=1 for the stack trace)",
              e.getClass().getSimpleName(), e.getMessage(), DEBUG_ENV);
    }
    if (System.getenv(DEBUG_ENV) != null) {
      java.io.StringWriter w = new java.io.StringWriter();
      e.printStackTrace(new java.io.PrintWriter(w));
      text = text + "\n" + w;
    }
    return "error: " + text;
  }
}
