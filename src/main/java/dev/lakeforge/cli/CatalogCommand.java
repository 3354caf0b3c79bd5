package dev.lakeforge.cli;

import dev.lakeforge.catalog.AccessControl;
import dev.lakeforge.catalog.Artifact;
import dev.lakeforge.catalog.AuditLog;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Lineage;
import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.RunLog;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakeforge catalog ...}: the audit log, runs and lineage. */
@Command(
    name = "catalog",
    mixinStandardHelpOptions = true,
    description = "Inspect the catalog.",
    subcommands = {
      CatalogCommand.Audit.class,
      CatalogCommand.LineageCommand.class,
      CatalogCommand.Runs.class,
      CatalogCommand.Grant.class,
      CatalogCommand.Revoke.class,
      CatalogCommand.Roles.class,
      CatalogCommand.Grants.class,
      CatalogCommand.Principals.class,
      CatalogCommand.Mask.class,
      CatalogCommand.RowFilter.class
    })
final class CatalogCommand {

  @Command(
      name = "audit",
      mixinStandardHelpOptions = true,
      description = {
        "The append-only, hash-chained audit log: who did what to which object, when, and the outcome.",
        "--verify checks the chain; --repair-triggers re-creates missing append-only triggers. Needs ADMIN."
      })
  static final class Audit extends Subcommand {

    @Option(
        names = "--verify",
        description =
            "Walk the hash chain; print 'audit log verified: N rows, head ID HASH', or fail naming the first"
                + " broken row. Record the head elsewhere to detect a rewritten chain later.")
    boolean verify;

    @Option(
        names = "--expect-head",
        paramLabel = "ID:HASH",
        description =
            "With --verify: also fail if the chain no longer holds this head (printed by an earlier --verify).")
    String expectHead;

    @Option(
        names = "--repair-triggers",
        description =
            "Re-create the audit log's missing append-only triggers (audited), then verify the chain.")
    boolean repairTriggers;

    @Option(names = "--principal", paramLabel = "P", description = "Only this principal's entries.")
    String principal;

    @Option(
        names = "--object",
        paramLabel = "O",
        description = "Only objects starting with this, e.g. model:churn.")
    String object;

    @Option(
        names = "--since",
        paramLabel = "T",
        description = "Only entries at or after T (yyyy-MM-dd or ISO instant).")
    String since;

    @Override
    void run() {
      if (verify || repairTriggers || expectHead != null) {
        check();
        return;
      }
      Optional<Instant> from = Optional.ofNullable(since).map(Audit::parseTime);
      var filter =
          new AuditLog.Filter(Optional.ofNullable(principal), Optional.ofNullable(object), from);
      new AccessControl(root().catalog()).require(root().principal(), Privilege.ADMIN, "*");
      List<AuditLog.Entry> entries = new AuditLog(root().catalog()).read(filter);
      TextTable t =
          new TextTable(List.of("id", "at", "principal", "action", "object", "outcome", "detail"));
      entries.forEach(
          e ->
              t.add(
                  e.id(),
                  e.at(),
                  e.principal(),
                  e.action(),
                  e.object(),
                  e.outcome(),
                  e.detail() == null ? "" : e.detail()));
      out().print(t.render());
    }

    /** --verify and --repair-triggers: they run on a catalog whose triggers are missing. */
    private void check() {
      if (expectHead != null && !verify) {
        throw new SpecException("--expect-head needs --verify.");
      }
      if (verify && repairTriggers) {
        throw new SpecException(
            "Give --verify or --repair-triggers, not both (--repair-triggers verifies too).");
      }
      if (principal != null || object != null || since != null) {
        throw new SpecException(
            "--principal, --object and --since filter the listing; leave them out with --verify and"
                + " --repair-triggers, which check the whole log.");
      }
      Optional<AuditLog.Head> expected = Optional.ofNullable(expectHead).map(AuditLog.Head::parse);
      CatalogDatabase db = CatalogDatabase.openForRepair(root().platform());
      AuditLog log = new AuditLog(db);
      AuditLog.Verification v;
      if (repairTriggers) {
        AuditLog.Repair repair = log.repairTriggers(root().principal());
        out()
            .println(
                repair.recreated().isEmpty()
                    ? "The audit log's append-only triggers are all in place; nothing to repair."
                    : "Re-created the audit log's append-only triggers: "
                        + String.join(", ", repair.recreated())
                        + " (audited as audit.repair-triggers).");
        out().flush();
        v = repair.chain();
      } else {
        new AccessControl(db).require(root().principal(), Privilege.ADMIN, "*");
        v = expected.map(log::verify).orElseGet(log::verify);
      }
      out().println(v.requireIntact(db.url()).summary());
    }

    private static Instant parseTime(String text) {
      try {
        return text.length() == 10
            ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant()
            : Instant.parse(text);
      } catch (DateTimeParseException e) {
        throw new SpecException(
            String.format(
                "--since '%s' is not a time: write 2026-11-24 or 2026-11-24T10:00:00Z.", text));
      }
    }
  }

  @Command(
      name = "lineage",
      mixinStandardHelpOptions = true,
      description = {
        "Where a table version or model version came from (--upstream, the default) or what was built from it",
        "(--downstream), from the runs that succeeded. Name shop.orders (any version), shop.orders@3 or churn/2."
      })
  static final class LineageCommand extends Subcommand {

    @picocli.CommandLine.Parameters(index = "0", paramLabel = "TABLE|MODEL/VERSION")
    String of;

    @Option(names = "--upstream", description = "Walk towards the sources (default).")
    boolean upstream;

    @Option(names = "--downstream", description = "Walk towards what was built from it.")
    boolean downstream;

    @Option(
        names = "--format",
        paramLabel = "table|json|dot",
        description = "table (default), json or dot (Graphviz).")
    String format = "table";

    @Override
    void run() {
      if (upstream && downstream) {
        throw new SpecException("Give --upstream or --downstream, not both.");
      }
      if (!List.of("table", "json", "dot").contains(format)) {
        throw new SpecException(
            "--format " + format + " is not supported: use table, json or dot.");
      }
      Artifact start = Artifact.parse(of);
      Lineage.Direction d = downstream ? Lineage.Direction.DOWNSTREAM : Lineage.Direction.UPSTREAM;
      AccessControl access = new AccessControl(root().catalog());
      switch (start.kind()) {
        case TABLE ->
            access.require(
                root().principal(),
                Privilege.SELECT,
                AccessControl.table(TableName.parse(start.name())));
        case MODEL ->
            access.require(
                root().principal(), Privilege.EXECUTE, AccessControl.model(start.name()));
        case PATH -> access.require(root().principal(), Privilege.ADMIN, "*");
      }
      List<Lineage.Edge> edges = new Lineage(root().catalog()).walk(start, d);
      PrintWriter out = out();
      switch (format) {
        case "json" ->
            edges.forEach(
                e ->
                    out.println(
                        YamlSpecReader.toJson(
                            Map.of(
                                "from",
                                e.from().toString(),
                                "job",
                                e.job(),
                                "run",
                                e.runId(),
                                "to",
                                e.to().toString()))));
        case "dot" -> {
          out.println("digraph lineage {");
          out.println("  rankdir=LR;");
          edges.forEach(
              e -> out.printf("  \"%s\" -> \"%s\" [label=\"%s\"];%n", e.from(), e.to(), e.job()));
          out.println("}");
        }
        default -> {
          if (edges.isEmpty()) {
            out.printf(
                "No recorded lineage %s of %s.%n",
                d.name().toLowerCase(java.util.Locale.ROOT), start);
            return;
          }
          TextTable t = new TextTable(List.of("from", "job", "to", "run"));
          edges.forEach(e -> t.add(e.from(), e.job(), e.to(), e.runId()));
          out.print(t.render());
        }
      }
    }
  }

  @Command(
      name = "runs",
      mixinStandardHelpOptions = true,
      description = {
        "The most recent runs of jobs, newest first. Needs ADMIN.",
        "--abandon RUN marks a running run whose process is gone (its host too) abandoned, which"
            + " frees its job for the next run."
      })
  static final class Runs extends Subcommand {

    @Option(names = "--limit", paramLabel = "N", description = "How many (default 20).")
    int limit = 20;

    @Option(
        names = "--abandon",
        paramLabel = "RUN",
        description =
            "Mark the running run RUN abandoned: only for a run whose process is gone where no"
                + " later command can tell (its host is gone).")
    String abandon;

    @Override
    void run() {
      if (abandon != null) {
        new RunLog(root().catalog()).abandon(abandon, root().principal());
        out().printf("Run %s marked abandoned.%n", abandon);
        return;
      }
      if (limit < 1) {
        throw new SpecException("--limit " + limit + " must be 1 or more.");
      }
      TextTable t =
          new TextTable(
              List.of("started", "job", "principal", "status", "parameters", "metrics", "run"));
      new AccessControl(root().catalog()).require(root().principal(), Privilege.ADMIN, "*");
      for (RunLog.Run r : new RunLog(root().catalog()).recent(limit)) {
        t.add(
            r.startedAt(),
            r.job(),
            r.principal(),
            r.status(),
            r.parameters(),
            r.metrics() == null ? (r.error() == null ? "" : r.error()) : r.metrics(),
            r.id());
      }
      out().print(t.render());
    }
  }

  /** The arguments grant and revoke share. */
  abstract static class GrantArgs extends Subcommand {
    @picocli.CommandLine.Parameters(index = "0", paramLabel = "PRIVILEGE")
    String privilege;

    @picocli.CommandLine.Parameters(index = "1", paramLabel = "OBJECT")
    String object;

    @picocli.CommandLine.Parameters(index = "2", paramLabel = "GRANTEE")
    String grantee;

    @Option(names = "--role", description = "The grantee is a role.")
    boolean role;

    String grantee() {
      return (role ? "role " : "") + grantee;
    }
  }

  @Command(
      name = "grant",
      mixinStandardHelpOptions = true,
      description = {
        "Grant a privilege on an object to a principal (or, with --role, to a role). Needs ADMIN.",
        "Privileges: SELECT, MODIFY (tables), EXECUTE, CREATE_VERSION, PROMOTE (models),",
        "IMPERSONATE (principals: act as them with --as), ADMIN (on '*').",
        "Objects: '*', namespace:<ns>, table:<ns>.<table>, model:<name>, model:*, principal:<name>, principal:*.",
        "A table or model named must be in the catalog (tables apply / models register it first)."
      })
  static final class Grant extends GrantArgs {
    @Override
    void run() {
      Privilege p = Privilege.parse(privilege);
      new AccessControl(root().catalog()).grant(root().principal(), p, object, grantee, role);
      out().printf("Granted %s on %s to %s.%n", p, object, grantee());
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revoke a grant. Needs ADMIN.")
  static final class Revoke extends GrantArgs {
    @Override
    void run() {
      Privilege p = Privilege.parse(privilege);
      new AccessControl(root().catalog()).revoke(root().principal(), p, object, grantee, role);
      out().printf("Revoked %s on %s from %s.%n", p, object, grantee());
    }
  }

  @Command(
      name = "roles",
      mixinStandardHelpOptions = true,
      description =
          "List roles and members, or 'roles add ROLE PRINCIPAL...' to create a role / add members. Needs ADMIN.")
  static final class Roles extends Subcommand {

    @picocli.CommandLine.Parameters(arity = "0..*", paramLabel = "add ROLE PRINCIPAL")
    List<String> args = new java.util.ArrayList<>();

    @Override
    void run() {
      AccessControl access = new AccessControl(root().catalog());
      PrintWriter out = out();
      if (!args.isEmpty()) {
        if (args.size() < 3 || !args.get(0).equals("add")) {
          throw new SpecException(
              "Usage: lakeforge catalog roles add ROLE PRINCIPAL [PRINCIPAL...]");
        }
        List<dev.lakeforge.catalog.Principal> members =
            args.subList(2, args.size()).stream()
                .map(dev.lakeforge.catalog.Principal::new)
                .toList();
        access.addToRole(root().principal(), args.get(1), members);
      }
      TextTable t = new TextTable(List.of("role", "members"));
      access.roles(root().principal()).forEach((r, m) -> t.add(r, String.join(", ", m)));
      out.print(t.render());
    }
  }

  @Command(
      name = "grants",
      mixinStandardHelpOptions = true,
      description = "Every grant. Needs ADMIN.")
  static final class Grants extends Subcommand {

    @Override
    void run() {
      TextTable t = new TextTable(List.of("grantee", "privilege", "object", "granted by"));
      new AccessControl(root().catalog())
          .grants(root().principal())
          .forEach(
              g ->
                  t.add(
                      g.granteeKind() + ":" + g.grantee(),
                      g.privilege(),
                      g.object(),
                      g.grantedBy()));
      out().print(t.render());
    }
  }

  @Command(
      name = "principals",
      mixinStandardHelpOptions = true,
      description =
          "The principals the catalog knows (granted something or in a role), with their roles. Needs ADMIN.")
  static final class Principals extends Subcommand {

    @Override
    void run() {
      TextTable t = new TextTable(List.of("principal", "roles", "added by", "added at"));
      new AccessControl(root().catalog())
          .principals(root().principal())
          .forEach(
              p -> t.add(p.name(), String.join(", ", p.roles()), p.createdBy(), p.createdAt()));
      out().print(t.render());
    }
  }

  @Command(
      name = "mask",
      mixinStandardHelpOptions = true,
      description = {
        "Mask a column: everyone not in the exempt role reads the expression instead of the value.",
        "catalog mask TABLE                         list the table's masks and row filters",
        "catalog mask TABLE COLUMN --expr E [--exempt-role R]   set (or replace) a mask (ADMIN)",
        "catalog mask TABLE COLUMN --drop           drop it (ADMIN)"
      })
  static final class Mask extends Subcommand {
    @picocli.CommandLine.Parameters(index = "0", paramLabel = "TABLE")
    String table;

    @picocli.CommandLine.Parameters(index = "1", arity = "0..1", paramLabel = "COLUMN")
    String column;

    @Option(
        names = "--expr",
        paramLabel = "SQL",
        description = "e.g. \"sha2(email, 256)\" or \"'***'\".")
    String expr;

    @Option(names = "--exempt-role", paramLabel = "ROLE", description = "Members read raw values.")
    String exemptRole;

    @Option(names = "--drop", description = "Drop the column's mask.")
    boolean drop;

    @Override
    void run() {
      TableName t = TableName.parse(table);
      var policies = dev.lakeforge.lakehouse.access.Policies.of(root().spark());
      if (column == null) {
        if (expr != null || drop || exemptRole != null) {
          throw new SpecException(
              "Name the COLUMN to mask: lakeforge catalog mask TABLE COLUMN --expr SQL.");
        }
        list(out(), policies.catalog(), t);
        return;
      }
      if (drop == (expr != null)) {
        throw new SpecException(
            "Give either --expr SQL (set the mask) or --drop, for column " + column + ".");
      }
      if (drop) {
        policies
            .catalog()
            .dropMask(root().principal(), t, column.toLowerCase(java.util.Locale.ROOT));
        out().printf("Dropped the mask of %s.%s.%n", t, column);
      } else {
        policies.mask(t, column, expr, Optional.ofNullable(exemptRole));
        out()
            .printf(
                "Masked %s.%s as %s%s.%n",
                t,
                column,
                expr,
                exemptRole == null ? "" : " (role " + exemptRole + " sees raw values)");
      }
    }

    static void list(PrintWriter out, dev.lakeforge.catalog.AccessPolicies p, TableName t) {
      TextTable masks = new TextTable(List.of("column", "mask", "exempt role"));
      p.masks(t).forEach(m -> masks.add(m.column(), m.expression(), m.exemptRole().orElse("")));
      out.print(masks.render());
      TextTable filters = new TextTable(List.of("grantee", "sees rows where"));
      p.rowFilters(t).forEach(f -> filters.add(f.granteeKind() + ":" + f.grantee(), f.predicate()));
      out.print(filters.render());
    }
  }

  @Command(
      name = "row-filter",
      mixinStandardHelpOptions = true,
      description = {
        "Limit the rows a principal (or a role's members) sees of a table to those matching a predicate.",
        "A principal with several filters on a table sees the rows of any of them; one without sees all.",
        "catalog row-filter TABLE GRANTEE [--role] --where PREDICATE   set (or replace) it (ADMIN)",
        "catalog row-filter TABLE GRANTEE [--role] --drop              drop it (ADMIN)"
      })
  static final class RowFilter extends Subcommand {
    @picocli.CommandLine.Parameters(index = "0", paramLabel = "TABLE")
    String table;

    @picocli.CommandLine.Parameters(index = "1", paramLabel = "GRANTEE")
    String grantee;

    @Option(names = "--role", description = "The grantee is a role.")
    boolean role;

    @Option(names = "--where", paramLabel = "PREDICATE", description = "e.g. \"country = 'DE'\".")
    String where;

    @Option(names = "--drop", description = "Drop the filter.")
    boolean drop;

    @Override
    void run() {
      if (drop == (where != null)) {
        throw new SpecException("Give either --where PREDICATE (set the filter) or --drop.");
      }
      TableName t = TableName.parse(table);
      var policies = dev.lakeforge.lakehouse.access.Policies.of(root().spark());
      String who = (role ? "role " : "principal ") + grantee;
      if (drop) {
        policies.catalog().dropRowFilter(root().principal(), t, grantee, role);
        out().printf("Dropped the row filter of %s on %s.%n", who, t);
      } else {
        policies.rowFilter(t, grantee, role, where);
        out().printf("%s sees the rows of %s where %s.%n", who, t, where);
      }
    }
  }
}
