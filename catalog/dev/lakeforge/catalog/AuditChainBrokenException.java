package dev.lakeforge.catalog;

/**
 * The audit log's hash chain is broken: a row was edited, deleted or inserted behind Lakeforge's
 * back, or the chain was rewritten since a recorded head. The message names the first broken row
 * and the reason.
 */
public final class AuditChainBrokenException extends CatalogException {
  private static final long serialVersionUID = 1L;

  private final long rowId;
  private final AuditLog.Reason reason;

  AuditChainBrokenException(String catalogUrl, AuditLog.Break b, long rowsChecked) {
    super(
        String.format(
            "The audit log of the catalog %s failed verification at row %d: %s (%s; %d rows"
                + " checked). Treat the catalog as tampered with: find out who had write access to"
                + " the database, and compare with a backup or a head recorded earlier.",
            catalogUrl, b.id(), b.explanation(), b.reason(), rowsChecked),
        null);
    this.rowId = b.id();
    this.reason = b.reason();
  }

  /** The first row that breaks the chain. */
  public long rowId() {
    return rowId;
  }

  public AuditLog.Reason reason() {
    return reason;
  }
}
