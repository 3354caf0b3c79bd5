package dev.lakeforge.catalog;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * The authenticated identity of this process: the actor behind every principal a command runs as.
 *
 * <ul>
 *   <li>With Hadoop security on ({@code hadoop.security.authentication=kerberos}, as on a secured
 *       EMR or YARN cluster), the short name of the Kerberos user of {@link
 *       UserGroupInformation#getCurrentUser()} (inside a {@code doAs}, the user it runs as).
 *   <li>Otherwise the operating-system user the process runs as, as the OS knows it: on Unix the
 *       name of the process's uid ({@code uid-<n>} when the uid has no name); elsewhere the JVM's
 *       {@code user.name}.
 * </ul>
 *
 * <p>Environment variables ({@code USER}, {@code HADOOP_USER_NAME}, {@code LAKEFORGE_PRINCIPAL})
 * and the {@code user.name} property on Unix are deliberately not trusted: anyone can set them for
 * one command, so trusting them would let anyone claim to be the admin. On Unix the uid is set by
 * the login, and Kerberos proves the user to the cluster. A name requested with {@code --as} or
 * {@code $LAKEFORGE_PRINCIPAL} is checked against this identity's {@code IMPERSONATE} grants (see
 * {@link AccessControl#actAs}).
 *
 * <p>This is as strong as the process boundary: whoever can run their own code with the catalog
 * database's credentials can write any row; protect those (file permissions on the SQLite file, the
 * PostgreSQL password) as well.
 */
public final class Identity {
  private static final Principal OS_USER = osUser();

  private Identity() {}

  /** The authenticated identity of this process, acting as itself. */
  public static Principal current() {
    if (UserGroupInformation.isSecurityEnabled()) {
      try {
        return new Principal(UserGroupInformation.getCurrentUser().getShortUserName());
      } catch (IOException e) {
        throw new UncheckedIOException(
            "Cannot read the Kerberos user of this process: "
                + e.getMessage()
                + ". Run kinit (or check the keytab of the service) and retry.",
            e);
      }
    }
    return OS_USER;
  }

  private static Principal osUser() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (!os.startsWith("windows")) {
      try {
        com.sun.security.auth.module.UnixSystem unix =
            new com.sun.security.auth.module.UnixSystem();
        String name = unix.getUsername();
        return new Principal(name == null || name.isBlank() ? "uid-" + unix.getUid() : name);
      } catch (LinkageError e) {
        // no native Unix support in this JVM: fall through to the JVM's own idea of the user
      }
    }
    return new Principal(System.getProperty("user.name", "unknown"));
  }
}
