package dev.lakeforge.lakehouse;

import dev.lakeforge.catalog.Privilege;
import dev.lakeforge.catalog.RegisteredTable;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.iceberg.HistoryEntry;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.spark.SparkCatalog;
import org.apache.iceberg.util.SnapshotUtil;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.RelationTimeTravel;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.delta.DeltaHistoryManager;
import org.apache.spark.sql.delta.DeltaLog;
import scala.Option;
import scala.runtime.AbstractPartialFunction;

/**
 * A query that reads every lakehouse table as it was at one instant: each Delta or Iceberg table
 * the query names is read at its last commit at or before {@link #at()}, as if the user had written
 * {@code VERSION AS OF <that version>} (a Delta version, an Iceberg snapshot id) after every table.
 * Tables the query already time travels, temporary views and CTEs are left alone. This gives a
 * consistent view across tables and formats.
 *
 * <p>The version is found here, from the table's own log (Delta's own commit search, Iceberg's
 * snapshot log), and pinned by number, so the result does not depend on {@code
 * spark.sql.session.timeZone}: Delta's catalog turns a {@code TIMESTAMP AS OF} instant back into
 * text and reads it again in the session zone, so even an absolute timestamp literal is shifted.
 * The rules:
 *
 * <ul>
 *   <li>an instant after the table's latest commit reads the latest version ("as of now");
 *   <li>an instant before the earliest version still readable (its first commit, or the oldest one
 *       log retention kept) is an error naming the table and that version's commit time;
 *   <li>an Iceberg table that has never been written (no snapshot at all) reads as empty.
 * </ul>
 *
 * <p>The rewritten plan goes through the session's access checks like any other query. The error
 * for an instant before a table's earliest version tells its commit times, so it is given only
 * after the principal's {@code SELECT} on the table is checked (and audited): without it the query
 * is refused as any read of the table would be.
 *
 * @param sql one Spark SQL query
 * @param at the instant
 */
public record AsOfQuery(String sql, Instant at) {
  /** The accepted forms, for help texts and errors. */
  public static final String FORMS =
      "yyyy-MM-dd, yyyy-MM-dd HH:mm:ss or yyyy-MM-dd HH:mm:ss.SSS (UTC), or a time with a zone"
          + " offset: 2026-11-24T10:00:00Z, 2026-11-24 19:00:00+09:00";

  private static final DateTimeFormatter INPUT =
      new DateTimeFormatterBuilder()
          .append(DateTimeFormatter.ISO_LOCAL_DATE)
          .optionalStart()
          .appendLiteral('T')
          .appendPattern("HH:mm")
          .optionalStart()
          .appendPattern(":ss")
          .optionalStart()
          .appendFraction(ChronoField.NANO_OF_SECOND, 1, 9, true)
          .optionalEnd()
          .optionalEnd()
          .optionalStart()
          .appendOffset("+HH:mm", "Z")
          .optionalEnd()
          .optionalEnd()
          .toFormatter(java.util.Locale.ROOT)
          .withResolverStyle(java.time.format.ResolverStyle.STRICT)
          .withChronology(java.time.chrono.IsoChronology.INSTANCE);

  private static final DateTimeFormatter UTC =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS 'UTC'").withZone(ZoneOffset.UTC);

  public AsOfQuery {
    Objects.requireNonNull(sql, "sql is null");
    Objects.requireNonNull(at, "at is null");
  }

  /** The query {@code sql} as of {@code timestamp}, parsed with {@link #parseInstant}. */
  public static AsOfQuery parse(String sql, String timestamp) {
    return new AsOfQuery(sql, parseInstant(timestamp));
  }

  /**
   * The instant written as {@code yyyy-MM-dd} (midnight), {@code yyyy-MM-dd HH:mm[:ss[.fff]]} (a
   * space or a {@code T} between date and time, up to nine fraction digits), in UTC unless the time
   * ends with a zone offset ({@code Z}, {@code +09:00}, {@code -08}). The session's time zone plays
   * no part.
   */
  public static Instant parseInstant(String timestamp) {
    Objects.requireNonNull(timestamp, "timestamp is null");
    String text = timestamp.trim();
    try {
      TemporalAccessor t =
          INPUT.parse(
              text.length() > 10 && text.charAt(10) == ' '
                  ? text.substring(0, 10) + 'T' + text.substring(11)
                  : text);
      LocalDate date = LocalDate.from(t);
      LocalDateTime local =
          t.isSupported(ChronoField.HOUR_OF_DAY)
              ? LocalDateTime.of(date, java.time.LocalTime.from(t))
              : date.atStartOfDay();
      ZoneOffset offset =
          t.isSupported(ChronoField.OFFSET_SECONDS) ? ZoneOffset.from(t) : ZoneOffset.UTC;
      return local.toInstant(offset);
    } catch (DateTimeParseException e) {
      throw new SpecException(
          String.format(
              "--as-of '%s' is not a timestamp: write %s, e.g. '2026-11-24 10:00:00'. For a version,"
                  + " write VERSION AS OF <version> after the table in the query.",
              text, FORMS),
          e);
    }
  }

  /**
   * Parses the query, pins every lakehouse table it reads to its version at {@link #at}, and
   * returns the result; the plan then goes through the session's access checks like any query.
   */
  public Dataset<Row> run(SparkSession spark) {
    Lakehouse lh = Lakehouse.open(spark);
    Map<List<String>, TableName> names = lh.tablesBySqlName();
    Set<List<String>> known = names.keySet();
    Map<TableName, Pin> pins = new HashMap<>();
    LogicalPlan parsed = SqlPlans.parse(spark, sql);
    int[] pinned = {0};
    LogicalPlan plan =
        parsed.transformUpWithSubqueries(
            new AbstractPartialFunction<LogicalPlan, LogicalPlan>() {
              @Override
              public boolean isDefinedAt(LogicalPlan p) {
                return p instanceof UnresolvedRelation r && known.contains(SqlPlans.parts(r));
              }

              @Override
              public LogicalPlan apply(LogicalPlan p) {
                if (!isDefinedAt(p)) {
                  return p;
                }
                pinned[0]++;
                TableName table = names.get(SqlPlans.parts((UnresolvedRelation) p));
                Pin pin = pins.computeIfAbsent(table, t -> pinAt(lh, t, at));
                if (pin.tooEarly() != null) {
                  // The error tells the table's commit times: only to a principal who may read it
                  // (the check is audited, as the session's own check would be).
                  lh.require(Privilege.SELECT, table);
                  throw pin.tooEarly();
                }
                if (pin.version().isEmpty()) {
                  return new Filter(Literal.FalseLiteral(), p);
                }
                return new RelationTimeTravel(
                    p, Option.empty(), Option.apply(String.valueOf(pin.version().get())));
              }
            });
    if (pinned[0] == 0) {
      throw new SpecException(
          "--as-of applies to queries that read lakehouse tables, and this one reads none: name a table as"
              + " namespace.table (Delta) or "
              + lh.platform().icebergCatalog()
              + ".namespace.table (Iceberg).");
    }
    return dev.lakeforge.core.SparkInternals.run(spark, plan);
  }

  /**
   * What {@code table} is read as at {@code at}: a version, nothing (an Iceberg table never
   * written), or the error for an instant before its earliest readable version.
   */
  private record Pin(Optional<Long> version, LakehouseException tooEarly) {}

  /**
   * The version of {@code table} at {@code at}: its last commit at or before it, the latest one if
   * {@code at} is later; empty for an Iceberg table never written.
   */
  private static Pin pinAt(Lakehouse lh, TableName table, Instant at) {
    RegisteredTable registered =
        lh.registry().find(table).orElseThrow(() -> LakehouseException.notRegistered(table));
    try {
      if (registered.format().equals(TableFormat.DELTA.label())) {
        return new Pin(Optional.of(deltaVersionAt(lh.spark(), registered, at)), null);
      }
      return new Pin(icebergVersionAt(lh, table, at), null);
    } catch (TooEarly e) {
      return new Pin(Optional.empty(), e);
    }
  }

  private static long deltaVersionAt(SparkSession spark, RegisteredTable table, Instant at) {
    DeltaHistoryManager.Commit commit;
    try {
      // Delta's own search (the one TIMESTAMP AS OF uses), on an absolute java.sql.Timestamp:
      // the latest commit when `at` is later, the earliest readable one when it is earlier.
      commit =
          DeltaLog.forTable(spark, table.location())
              .history()
              .getActiveCommitAtTime(Timestamp.from(at), Option.empty(), true, true, true);
    } catch (RuntimeException e) {
      throw new LakehouseException(
          table.name(),
          String.format(
              "Cannot find the version of Delta table %s at %s: %s",
              table.name(), UTC.format(at), e.getMessage()),
          e);
    }
    if (commit.timestamp() > at.toEpochMilli()) {
      throw beforeFirst(
          table.name(), at, commit.version(), Instant.ofEpochMilli(commit.timestamp()));
    }
    return commit.version();
  }

  private static Optional<Long> icebergVersionAt(Lakehouse lh, TableName name, Instant at) {
    Table table;
    try {
      SparkCatalog catalog =
          (SparkCatalog)
              dev.lakeforge.core.SparkInternals.catalog(lh.spark(), lh.platform().icebergCatalog());
      table =
          catalog.icebergCatalog().loadTable(TableIdentifier.of(name.namespace(), name.table()));
      table.refresh(); // Spark's Iceberg catalog caches tables; another process may have committed
    } catch (RuntimeException e) {
      throw new LakehouseException(
          name, String.format("Cannot load Iceberg table %s: %s", name, e.getMessage()), e);
    }
    List<HistoryEntry> log = table.history();
    if (log.isEmpty()) {
      return Optional.empty();
    }
    Long id = SnapshotUtil.nullableSnapshotIdAsOfTime(table, at.toEpochMilli());
    if (id == null) {
      HistoryEntry first = log.get(0);
      throw beforeFirst(
          name, at, first.snapshotId(), Instant.ofEpochMilli(first.timestampMillis()));
    }
    return Optional.of(id);
  }

  private static TooEarly beforeFirst(
      TableName table, Instant at, long version, Instant committed) {
    return new TooEarly(
        table,
        String.format(
            "Cannot read %s as of %s: its earliest readable version (%d) was committed at %s. Give an"
                + " --as-of at or after that moment.",
            table, UTC.format(at), version, UTC.format(committed)));
  }

  /** An instant before the table's earliest readable version. */
  private static final class TooEarly extends LakehouseException {
    private static final long serialVersionUID = 1L;

    TooEarly(TableName table, String message) {
      super(table, message);
    }
  }
}
