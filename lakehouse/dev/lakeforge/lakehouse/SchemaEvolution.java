package dev.lakeforge.lakehouse;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructField;

/**
 * Compares a spec with the table it declares and plans the change: additive changes (a new nullable
 * column, a wider type, dropping NOT NULL, comments, properties) become SQL statements; breaking
 * ones (dropping or renaming a column, narrowing or changing a type, adding NOT NULL, changing the
 * key, partitioning or location) become problems, and a plan with problems is never executed.
 */
final class SchemaEvolution {
  private SchemaEvolution() {}

  /**
   * The planned change.
   *
   * @param changes one line per change, for people
   * @param statements the SQL that makes them
   * @param problems breaking changes; when non-empty nothing may run
   */
  record Plan(List<String> changes, List<String> statements, List<String> problems) {
    boolean unchanged() {
      return changes.isEmpty() && problems.isEmpty();
    }
  }

  static Plan plan(TableSpec spec, TableState state, String sqlName, TableOperations ops) {
    List<String> changes = new ArrayList<>();
    List<String> statements = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Map<String, StructField> current = new LinkedHashMap<>();
    for (StructField f : state.schema().fields()) {
      current.put(f.name(), f);
    }

    for (String name : current.keySet()) {
      if (spec.column(name).isEmpty()) {
        problems.add(
            String.format(
                "column `%s` is in the table but not in the spec: dropping or renaming a column is a breaking"
                    + " change. Put it back in the spec (mark it nullable if it is no longer filled), or create a"
                    + " new table.",
                name));
      }
    }
    boolean typeChanged = false;
    List<String> typeStatements = new ArrayList<>();
    for (ColumnSpec c : spec.columns()) {
      StructField f = current.get(c.name());
      String col = Sql.ident(c.name());
      if (f == null) {
        if (!c.nullable()) {
          problems.add(
              String.format(
                  "new column `%s` is declared nullable: false, but existing rows have no value for it. Declare it"
                      + " nullable.",
                  c.name()));
          continue;
        }
        changes.add(String.format("add column `%s` %s", c.name(), c.dataType().sql()));
        statements.add(
            String.format(
                "ALTER TABLE %s ADD COLUMNS (%s %s%s)",
                sqlName,
                col,
                c.dataType().sql(),
                c.comment().map(cm -> " COMMENT " + Sql.literal(cm)).orElse("")));
        continue;
      }
      if (!f.dataType().equals(c.dataType())) {
        if (widens(f.dataType(), c.dataType())) {
          typeChanged = true;
          changes.add(
              String.format(
                  "widen column `%s` from %s to %s",
                  c.name(), f.dataType().sql(), c.dataType().sql()));
          typeStatements.add(
              String.format(
                  "ALTER TABLE %s ALTER COLUMN %s TYPE %s", sqlName, col, c.dataType().sql()));
        } else {
          problems.add(
              String.format(
                  "column `%s` changes type from %s to %s: only widening is allowed (tinyint→smallint→int→bigint,"
                      + " float→double, decimal to a larger precision with the same scale). Add a new column"
                      + " instead.",
                  c.name(), f.dataType().sql(), c.dataType().sql()));
        }
      }
      if (f.nullable() && !c.nullable()) {
        problems.add(
            String.format(
                "column `%s` becomes nullable: false, but existing rows may hold nulls. Keep it nullable.",
                c.name()));
      } else if (!f.nullable() && c.nullable()) {
        changes.add(String.format("allow nulls in column `%s`", c.name()));
        statements.add(String.format("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", sqlName, col));
      }
      Optional<String> currentComment =
          f.getComment().isDefined() ? Optional.of(f.getComment().get()) : Optional.empty();
      if (c.comment().isPresent() && !c.comment().equals(currentComment)) {
        changes.add(String.format("comment on column `%s`", c.name()));
        statements.add(
            String.format(
                "ALTER TABLE %s ALTER COLUMN %s COMMENT %s",
                sqlName, col, Sql.literal(c.comment().get())));
      }
    }
    if (typeChanged) {
      statements.addAll(ops.beforeTypeChange(spec.name()));
      statements.addAll(typeStatements);
    }

    String currentKey = state.property(TableSpec.PRIMARY_KEY_PROPERTY).orElse("");
    String specKey = String.join(",", spec.primaryKey());
    if (!currentKey.equals(specKey)) {
      problems.add(
          String.format(
              "primary-key changes from (%s) to (%s): changing the key is a breaking change. Create a new table"
                  + " with the new key.",
              currentKey, specKey));
    }
    if (!state.partitionColumns().equals(spec.partitionBy())) {
      problems.add(
          String.format(
              "partition-by changes from %s to %s: repartitioning is not done in place. Create a new table.",
              state.partitionColumns(), spec.partitionBy()));
    }

    Map<String, String> props = new LinkedHashMap<>();
    spec.tableProperties()
        .forEach(
            (k, v) -> {
              if (!v.equals(state.properties().get(k))) {
                props.put(k, v);
              }
            });
    if (!props.isEmpty()) {
      changes.add("set properties " + props.keySet());
      StringBuilder sb =
          new StringBuilder("ALTER TABLE ").append(sqlName).append(" SET TBLPROPERTIES (");
      props.forEach(
          (k, v) -> sb.append(Sql.literal(k)).append(" = ").append(Sql.literal(v)).append(", "));
      sb.setLength(sb.length() - 2);
      statements.add(sb.append(")").toString());
    }
    if (spec.description().isPresent() && !spec.description().equals(state.property("comment"))) {
      changes.add("table comment");
      statements.add(
          String.format(
              "COMMENT ON TABLE %s IS %s", sqlName, Sql.literal(spec.description().get())));
    }
    return new Plan(List.copyOf(changes), List.copyOf(statements), List.copyOf(problems));
  }

  /**
   * Whether {@code to} holds every value of {@code from} (the widenings both formats support in
   * place).
   */
  static boolean widens(DataType from, DataType to) {
    int a = integralRank(from);
    int b = integralRank(to);
    if (a > 0 && b > 0) {
      return b > a;
    }
    if (from instanceof FloatType && to instanceof DoubleType) {
      return true;
    }
    return from instanceof DecimalType d1
        && to instanceof DecimalType d2
        && d2.scale() == d1.scale()
        && d2.precision() > d1.precision();
  }

  private static int integralRank(DataType t) {
    if (t instanceof ByteType) {
      return 1;
    } else if (t instanceof ShortType) {
      return 2;
    } else if (t instanceof IntegerType) {
      return 3;
    } else if (t instanceof LongType) {
      return 4;
    }
    return 0;
  }
}
