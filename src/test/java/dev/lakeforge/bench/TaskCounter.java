package dev.lakeforge.bench;

import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Counts the Spark tasks a session runs. The count shows that a setting really reached the
 * operation measured (a value lost on the way, e.g. in a session the job derives, would leave it
 * unchanged) and explains the timings: on two cores every task costs scheduling time whatever its
 * size.
 */
final class TaskCounter extends SparkListener {
  private final SparkContext context;
  private final AtomicLong finished = new AtomicLong();

  private TaskCounter(SparkContext context) {
    this.context = context;
  }

  /** Registers a counter on {@code context}. */
  static TaskCounter attach(SparkContext context) {
    TaskCounter counter = new TaskCounter(context);
    context.addSparkListener(counter);
    return counter;
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    finished.incrementAndGet();
  }

  /** Tasks finished so far, once every event already posted has reached this listener. */
  long settled() {
    try {
      // Listener events are delivered asynchronously; without this the last job's tasks may not be
      // counted yet.
      context.listenerBus().waitUntilEmpty();
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Spark's listener bus did not drain within 10 s; the task count is unknown.", e);
    }
    return finished.get();
  }
}
