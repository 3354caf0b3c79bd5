package dev.lakeforge.lakehouse.access;

import dev.lakeforge.catalog.Privilege;
import java.util.Objects;

/**
 * One privilege a plan needs before it may run.
 *
 * @param privilege what is needed
 * @param object the catalog object it is needed on ({@code *}, {@code table:ns.t})
 * @param reason what in the plan needs it, in words, e.g. {@code reads table shop.orders} or {@code
 *     calls java_method (arbitrary Java)}
 */
public record Need(Privilege privilege, String object, String reason) {
  public Need {
    Objects.requireNonNull(privilege, "privilege is null");
    Objects.requireNonNull(object, "object is null");
    Objects.requireNonNull(reason, "reason is null");
  }

  /** ADMIN on everything, for something the checker does not recognise or only admins may do. */
  static Need admin(String reason) {
    return new Need(Privilege.ADMIN, "*", reason);
  }
}
