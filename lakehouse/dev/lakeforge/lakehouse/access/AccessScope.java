package dev.lakeforge.lakehouse.access;

import java.util.function.Supplier;

/**
 * Work that Lakeforge itself does on a thread after its own explicit checks: attaching the
 * registered Delta tables to a session, and the statements a job issues once it has checked the
 * privileges and paths its spec needs (a job knows its intent — the table, the raw path, the
 * privilege — better than the plans it produces). Inside the scope the {@link AccessGuard} lets
 * plans through unchecked. The scope is per thread and ends with the work; user SQL and DataFrame
 * code never runs inside it.
 */
public final class AccessScope {
  private static final ThreadLocal<Integer> DEPTH = ThreadLocal.withInitial(() -> 0);

  private AccessScope() {}

  /** Runs {@code work} as Lakeforge's own, already-checked work. */
  public static <T> T internal(Supplier<T> work) {
    DEPTH.set(DEPTH.get() + 1);
    try {
      return work.get();
    } finally {
      int d = DEPTH.get() - 1;
      if (d == 0) {
        DEPTH.remove();
      } else {
        DEPTH.set(d);
      }
    }
  }

  /** Runs {@code work} as Lakeforge's own, already-checked work. */
  public static void internal(Runnable work) {
    internal(
        () -> {
          work.run();
          return null;
        });
  }

  /** Whether this thread is inside {@link #internal}. */
  static boolean active() {
    return DEPTH.get() > 0;
  }
}
