package dev.lakeforge.inference;

import dev.lakeforge.lakehouse.Progress;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a long job's progress at a fixed interval while it runs — rows done, rows/s, ETA — and after
 * each commit. Rows done while a commit runs come from the scoring tasks that have finished (Spark
 * reports a task's counts when it ends); after a commit they are the rows committed so far.
 */
final class ProgressLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressLog.class);

  private final String what;
  private final long total;
  private final LongSupplier scoredByTasks;
  private final long t0 = System.nanoTime();
  private final ScheduledExecutorService timer;
  private final long tasksAtStart;
  private volatile long committed;

  private ProgressLog(String what, long total, LongSupplier scoredByTasks, Duration every) {
    this.what = what;
    this.total = total;
    this.scoredByTasks = scoredByTasks;
    this.tasksAtStart = scoredByTasks.getAsLong();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lakeforge-progress");
              t.setDaemon(true);
              return t;
            });
    long ms = every.toMillis();
    timer.scheduleAtFixedRate(this::log, ms, ms, TimeUnit.MILLISECONDS);
  }

  /** Starts logging {@code what}'s progress towards {@code total} rows every {@code every}. */
  static ProgressLog start(String what, long total, LongSupplier scoredByTasks, Duration every) {
    return new ProgressLog(what, total, scoredByTasks, every);
  }

  /** A commit of {@code rows} rows landed (or was found already in the table). */
  void committed(long rows) {
    committed += rows;
    log();
  }

  private void log() {
    long done = Math.min(total, Math.max(committed, scoredByTasks.getAsLong() - tasksAtStart));
    long nanos = System.nanoTime() - t0;
    double perSecond = done / Math.max(1e-9, nanos / 1e9);
    String eta =
        done == 0 ? "unknown" : Progress.seconds((long) ((total - done) / perSecond * 1e9));
    LOG.info(
        "{}: {} of {} rows ({}%), {}, ETA {}",
        what, done, total, total == 0 ? 100 : done * 100 / total, Progress.rate(done, nanos), eta);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
