package dev.lakeforge.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Base of the leaf commands: the root's session, catalog and options, and the output; exit code 0
 * when run returns.
 */
abstract class Subcommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  LakeforgeCli root() {
    return LakeforgeCli.root(spec);
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Override
  public Integer call() {
    run();
    out().flush();
    return 0;
  }

  abstract void run();
}
