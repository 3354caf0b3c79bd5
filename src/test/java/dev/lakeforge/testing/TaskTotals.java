package dev.lakeforge.testing;

import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;

/**
 * What Spark's tasks did while some code ran, from the tasks' own metrics: rows read from tables
 * and files, and rows written to shuffles. For tests that check how often a job reads its input or
 * how much it shuffles, which row counts of the result cannot show.
 */
public final class TaskTotals {
  /** Tasks that ended. */
  public final long tasks;

  /** Rows read by table and file scans. */
  public final long inputRows;

  /** Rows written to shuffles. */
  public final long shuffleRows;

  private TaskTotals(long tasks, long inputRows, long shuffleRows) {
    this.tasks = tasks;
    this.inputRows = inputRows;
    this.shuffleRows = shuffleRows;
  }

  /** Runs {@code body} and returns its result with the totals of the tasks that ran meanwhile. */
  public static <T> Measured<T> of(SparkSession spark, Supplier<T> body) {
    SparkContext sc = spark.sparkContext();
    drain(sc); // events of earlier jobs must not reach the listener
    Listener listener = new Listener();
    sc.addSparkListener(listener);
    try {
      T value = body.get();
      drain(sc);
      return new Measured<>(value, listener.totals());
    } finally {
      sc.removeSparkListener(listener);
    }
  }

  /** A result and the totals of the tasks that computed it. */
  public record Measured<T>(T value, TaskTotals totals) {}

  private static void drain(SparkContext sc) {
    try {
      // Listener events arrive asynchronously: wait for those already posted.
      sc.listenerBus().waitUntilEmpty();
    } catch (TimeoutException e) {
      throw new IllegalStateException("Spark's listener bus did not drain in time", e);
    }
  }

  private static final class Listener extends SparkListener {
    private long tasks;
    private long inputRows;
    private long shuffleRows;

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
      tasks++;
      TaskMetrics m = end.taskMetrics();
      if (m != null) {
        inputRows += m.inputMetrics().recordsRead();
        shuffleRows += m.shuffleWriteMetrics().recordsWritten();
      }
    }

    synchronized TaskTotals totals() {
      return new TaskTotals(tasks, inputRows, shuffleRows);
    }
  }
}
