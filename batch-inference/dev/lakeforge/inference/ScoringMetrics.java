package dev.lakeforge.inference;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * What the scoring tasks did, gathered with Spark accumulators: rows, model calls (batches), and
 * the model loads, each load attributed to the executor whose JVM loaded it. They count the actions
 * run on the scored DataFrame so far: a DataFrame computed twice counts twice, and a retried task
 * counts again.
 */
public final class ScoringMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  private final LongAccumulator rows;
  private final LongAccumulator batches;
  private final LongAccumulator loadNanos;
  private final CollectionAccumulator<String> loadedOn;

  private ScoringMetrics(SparkContext sc, String model) {
    this.rows = sc.longAccumulator("lakeforge " + model + " rows");
    this.batches = sc.longAccumulator("lakeforge " + model + " batches");
    this.loadNanos = sc.longAccumulator("lakeforge " + model + " load ns");
    this.loadedOn = sc.collectionAccumulator("lakeforge " + model + " loads");
  }

  static ScoringMetrics register(SparkContext sc, ModelSpec model) {
    return new ScoringMetrics(sc, model.toString());
  }

  void batch(int rowsInBatch) {
    rows.add(rowsInBatch);
    batches.add(1);
  }

  void loaded(long nanos) {
    loadNanos.add(nanos);
    SparkEnv env = SparkEnv.get();
    loadedOn.add(env == null ? "unknown" : env.executorId());
  }

  /** Rows scored. */
  public long rows() {
    return rows.value();
  }

  /** Model calls: one per batch, never one per row. */
  public long batches() {
    return batches.value();
  }

  /** Model loads, over all executors. */
  public long modelLoads() {
    return loadedOn.value().size();
  }

  /** Loads by executor id ({@code driver} in local mode): 1 each when the cache works. */
  public Map<String, Long> loadsByExecutor() {
    Map<String, Long> out = new TreeMap<>();
    for (String id : loadedOn.value()) {
      out.merge(id, 1L, Long::sum);
    }
    return out;
  }

  /** Time spent loading the model, summed over the loads. */
  public long modelLoadMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loadNanos.value());
  }

  @Override
  public String toString() {
    return String.format(
        "%d rows in %d batches; model loads %s (%d ms)",
        rows(), batches(), loadsByExecutor(), modelLoadMillis());
  }
}
