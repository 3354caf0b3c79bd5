package dev.lakeforge;

import dev.lakeforge.cli.LakeforgeCli;

/**
 * Entry point of the jar, for {@code java -jar lakeforge.jar} and {@code spark-submit --class
 * dev.lakeforge.Main}. Exits with 0 on success, 1 when a command fails and 2 on a usage error.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    int code = LakeforgeCli.execute(args, System.out, System.err);
    System.exit(code);
  }
}
