package dev.lakeforge.lakehouse;

import dev.lakeforge.core.LakeforgeException;
import dev.lakeforge.core.TableName;
import java.util.Optional;

/** A lakehouse operation was refused or failed; the table named in it is unchanged. */
public class LakehouseException extends LakeforgeException {
  private static final long serialVersionUID = 1L;
  private final transient TableName table;

  public LakehouseException(TableName table, String message) {
    super(message);
    this.table = table;
  }

  public LakehouseException(TableName table, String message, Throwable cause) {
    super(message, cause);
    this.table = table;
  }

  /** The table the error is about, if any. */
  public Optional<TableName> table() {
    return Optional.ofNullable(table);
  }

  static LakehouseException notRegistered(TableName table) {
    return new LakehouseException(
        table,
        String.format(
            "Table %s is not a Lakeforge table in this home: apply its spec first"
                + " (lakeforge tables apply conf/tables/<file>.yaml), or check the name.",
            table));
  }
}
