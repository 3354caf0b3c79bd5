package dev.lakeforge.catalog;

import dev.lakeforge.core.SpecException;
import java.util.Arrays;
import java.util.Locale;

/** What a grant allows. */
public enum Privilege {
  /** Read a table (or every table of a namespace). */
  SELECT,
  /** Write a table: create, evolve, ingest, delete, maintain. Includes SELECT. */
  MODIFY,
  /** Use a model: load it for inference, read its versions. */
  EXECUTE,
  /** Register new versions of a model. */
  CREATE_VERSION,
  /** Move a model's aliases (promote a version to champion). */
  PROMOTE,
  /**
   * Act as another principal, like a Hadoop proxy user: granted on {@code principal:<name>} or
   * {@code principal:*} to the identity that may run commands as that principal.
   */
  IMPERSONATE,
  /**
   * Everything, including impersonation, grants, principals, roles and the audit log. Granted on
   * '*'.
   */
  ADMIN;

  public static Privilege parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new SpecException(
          String.format(
              "Privilege '%s' does not exist: use one of %s.", text, Arrays.toString(values())));
    }
  }

  /** Whether holding this privilege also gives {@code wanted}. */
  boolean covers(Privilege wanted) {
    return this == wanted || this == ADMIN || (this == MODIFY && wanted == SELECT);
  }
}
