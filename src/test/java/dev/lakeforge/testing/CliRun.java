package dev.lakeforge.testing;

import dev.lakeforge.cli.LakeforgeCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One in-process run of the {@code lakeforge} CLI: its exit code and what it printed.
 *
 * @param code exit code
 * @param out standard output (results)
 * @param err standard error (errors)
 */
public record CliRun(int code, String out, String err) {

  /** Runs the CLI on {@code home} with {@code args}. */
  public static CliRun run(java.nio.file.Path home, String... args) {
    List<String> all = new ArrayList<>(List.of("--home", home.toString()));
    all.addAll(List.of(args));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = LakeforgeCli.execute(all.toArray(String[]::new), o, e);
    }
    return new CliRun(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "exit " + code + "\n--- out\n" + out + "--- err\n" + err;
  }
}
