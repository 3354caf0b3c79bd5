package dev.lakeforge.catalog;

import java.util.List;

/**
 * The catalog's audit log has lost (some of) its append-only triggers, so rows could have been
 * changed or removed; Lakeforge refuses to run on it until they are re-created.
 */
public final class AuditTriggersMissingException extends CatalogException {
  private static final long serialVersionUID = 1L;

  private final List<String> missing;

  AuditTriggersMissingException(String catalogUrl, List<String> missing) {
    super(
        String.format(
            "The audit log of the catalog %s is missing its append-only triggers %s (dropped,"
                + " disabled or changed: tampering or a manual change), so its rows may have been"
                + " edited or deleted. Check the chain with 'lakeforge catalog audit --verify', then"
                + " an admin re-creates the triggers with 'lakeforge catalog audit"
                + " --repair-triggers' (the repair is audited). No other command runs until then.",
            catalogUrl, missing),
        null);
    this.missing = List.copyOf(missing);
  }

  /** The names of the triggers that are missing, disabled or changed. */
  public List<String> missing() {
    return missing;
  }
}
