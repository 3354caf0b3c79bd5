package dev.lakeforge.catalog;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * A local file system under the scheme {@value #SCHEME} that behaves like an object store where it
 * matters here: a file is "uploaded" when its stream is closed, and a rename copies every file (S3A
 * does the same). While its {@link Gate} is closed, each upload stops at {@code close()}, announces
 * itself as a {@link Gate.Paused} and waits until the test resumes it, so a test can act while an
 * upload is provably in progress, without sleeping.
 */
final class GatedFileSystem extends RawLocalFileSystem {
  static final String SCHEME = "gated";
  private static final String GATE_KEY = "lakeforge.test.gate";
  private static final Map<String, Gate> GATES = new ConcurrentHashMap<>();

  private Gate gate;

  /** The writes of one test: open (pass through) or closed (each upload waits to be resumed). */
  static final class Gate {
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    /** An upload waiting at {@code close()}; {@link #resume()} lets it finish. */
    record Paused(Path file, CountDownLatch resumed) {
      void resume() {
        resumed.countDown();
      }
    }

    void close() {
      closed = true;
    }

    /** Opens the gate; uploads already paused stay paused until resumed. */
    void open() {
      closed = false;
    }

    /**
     * Where paused uploads are announced; a test may put its own events (e.g. "done") on it too.
     */
    BlockingQueue<Object> events() {
      return events;
    }

    private void pass(Path file) throws IOException {
      if (!closed) {
        return;
      }
      Paused p = new Paused(file, new CountDownLatch(1));
      events.add(p);
      try {
        p.resumed().await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("upload of " + file + " interrupted");
      }
    }
  }

  /** Settings that make {@code gated:///...} paths use a file system passing through {@code g}. */
  static Configuration configure(Configuration conf, Gate g) {
    String id = UUID.randomUUID().toString();
    GATES.put(id, g);
    conf.set("fs." + SCHEME + ".impl", GatedFileSystem.class.getName());
    conf.setBoolean("fs." + SCHEME + ".impl.disable.cache", true);
    conf.set(GATE_KEY, id);
    return conf;
  }

  @Override
  public void initialize(URI uri, Configuration conf) throws IOException {
    super.initialize(uri, conf);
    gate =
        Objects.requireNonNull(
            GATES.get(conf.get(GATE_KEY, "")), "no gate: build the settings with configure()");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public FSDataOutputStream create(
      Path f,
      boolean overwrite,
      int bufferSize,
      short replication,
      long blockSize,
      Progressable progress)
      throws IOException {
    return gated(f, super.create(f, overwrite, bufferSize, replication, blockSize, progress));
  }

  @Override
  public FSDataOutputStream create(
      Path f,
      FsPermission permission,
      boolean overwrite,
      int bufferSize,
      short replication,
      long blockSize,
      Progressable progress)
      throws IOException {
    return gated(
        f, super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
  }

  private FSDataOutputStream gated(Path f, FSDataOutputStream local) throws IOException {
    OutputStream gated =
        new FilterOutputStream(local) {
          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
          }

          @Override
          public void close() throws IOException {
            gate.pass(f);
            super.close();
          }
        };
    return new FSDataOutputStream(gated, statistics);
  }

  /** Copies every file, then deletes the source: an object store has no cheap rename. */
  @Override
  public boolean rename(Path src, Path dst) throws IOException {
    if (!exists(src) || exists(dst)) {
      return false;
    }
    copy(src, dst);
    return delete(src, true);
  }

  private void copy(Path src, Path dst) throws IOException {
    FileStatus s = getFileStatus(src);
    if (s.isDirectory()) {
      mkdirs(dst);
      for (FileStatus child : listStatus(src)) {
        copy(child.getPath(), new Path(dst, child.getPath().getName()));
      }
      return;
    }
    try (InputStream in = open(src);
        OutputStream out = create(dst, false)) {
      in.transferTo(out);
    }
  }
}
