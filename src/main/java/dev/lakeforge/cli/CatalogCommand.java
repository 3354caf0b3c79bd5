package dev.lakeforge.cli;

import dev.lakeforge.catalog.AuditLog;
import dev.lakeforge.core.SpecException;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lakeforge catalog ...}: the catalog's audit log (lineage and access control come next). */
@Command(
    name = "catalog",
    mixinStandardHelpOptions = true,
    description = "Inspect the catalog.",
    subcommands = {CatalogCommand.Audit.class})
final class CatalogCommand {

  @Command(
      name = "audit",
      mixinStandardHelpOptions = true,
      description = "The append-only audit log: who did what to which object, when, and the outcome.")
  static final class Audit implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--principal", paramLabel = "P", description = "Only this principal's entries.")
    String principal;

    @Option(names = "--object", paramLabel = "O", description = "Only objects starting with this, e.g. model:churn.")
    String object;

    @Option(names = "--since", paramLabel = "T", description = "Only entries at or after T (yyyy-MM-dd or ISO instant).")
    String since;

    @Override
    public Integer call() {
      Optional<Instant> from = Optional.ofNullable(since).map(Audit::parseTime);
      var filter = new AuditLog.Filter(Optional.ofNullable(principal), Optional.ofNullable(object), from);
      List<AuditLog.Entry> entries = new AuditLog(LakeforgeCli.root(spec).catalog()).read(filter);
      TextTable t = new TextTable(List.of("id", "at", "principal", "action", "object", "outcome", "detail"));
      entries.forEach(e -> t.add(e.id(), e.at(), e.principal(), e.action(), e.object(), e.outcome(),
          e.detail() == null ? "" : e.detail()));
      PrintWriter out = spec.commandLine().getOut();
      out.print(t.render());
      out.flush();
      return 0;
    }

    private static Instant parseTime(String text) {
      try {
        return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(text);
      } catch (DateTimeParseException e) {
        throw new SpecException(
            String.format("--since '%s' is not a time: write 2026-11-24 or 2026-11-24T10:00:00Z.", text));
      }
    }
  }
}
