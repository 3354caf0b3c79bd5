package dev.lakeforge.lakehouse;

/** Quoting for the SQL text Lakeforge generates. */
final class Sql {
  private Sql() {}

  /** A string literal, safe for any value. */
  static String literal(String value) {
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  /** A quoted identifier. */
  static String ident(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
