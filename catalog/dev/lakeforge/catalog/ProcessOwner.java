package dev.lakeforge.catalog;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The operating-system process that owns a run or a staging folder: host name, pid and the
 * process's start instant (a pid alone is reused). Lets a later command on the same host tell an
 * owner that died from one still at work.
 *
 * @param host the host name, letters, digits, {@code .}, {@code -} and {@code _}
 * @param pid the process id
 * @param started when the process started, if the platform tells
 */
record ProcessOwner(String host, long pid, Optional<Instant> started) {
  private static final ProcessOwner CURRENT = of(ProcessHandle.current());

  ProcessOwner {
    Objects.requireNonNull(host, "host is null");
    Objects.requireNonNull(started, "started is null");
  }

  /** This JVM's process. */
  static ProcessOwner current() {
    return CURRENT;
  }

  /** The owner record of {@code process} on this host. */
  static ProcessOwner of(ProcessHandle process) {
    return new ProcessOwner(localHost(), process.pid(), process.info().startInstant());
  }

  /**
   * Whether this owner is known to have ended: it ran on this host and no process with its pid and
   * start instant runs now. An owner on another host is never known to be gone.
   */
  boolean goneOnThisHost() {
    if (!host.equals(localHost())) {
      return false;
    }
    Optional<ProcessHandle> now = ProcessHandle.of(pid);
    if (now.isEmpty() || !now.get().isAlive()) {
      return true;
    }
    Optional<Instant> nowStarted = now.get().info().startInstant();
    // The pid was reused by a later process; with no start instant on either side, assume alive.
    // Compared to the millisecond: that is what a staging folder's name keeps.
    return started.isPresent()
        && nowStarted.isPresent()
        && started.get().toEpochMilli() != nowStarted.get().toEpochMilli();
  }

  private static String localHost() {
    return Host.NAME;
  }

  /** Resolved once: the lookup may ask DNS. */
  private static final class Host {
    static final String NAME = resolve();

    private static String resolve() {
      String name;
      try {
        name = InetAddress.getLocalHost().getHostName();
      } catch (UnknownHostException e) {
        name = Optional.ofNullable(System.getenv("HOSTNAME")).orElse("localhost");
      }
      return name.replaceAll("[^A-Za-z0-9.-]", "_");
    }
  }
}
