package dev.lakeforge.inference;

import dev.lakeforge.core.SparkInternals;
import java.util.Objects;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * A prepared scoring: the model version it scores with (an alias resolved when it was prepared),
 * the plan checked against the model's signature and the input's schema (with the null-fill means
 * computed over the input it was prepared on), and the metrics its actions fill. {@link #output()}
 * scores the input it was prepared on; {@link #apply} scores other rows of the same schema with the
 * same plan — a job scores the rows still to do, chunk by chunk, with means taken over the whole
 * input.
 */
public final class Scoring {
  private final Dataset<Row> input;
  private final ScoringPlan plan;
  private final Broadcast<SerializableConfiguration> hadoop;
  private final ModelSpec model;
  private final Placement placement;
  private final ScoringMetrics metrics;

  Scoring(
      Dataset<Row> input,
      ScoringPlan plan,
      Broadcast<SerializableConfiguration> hadoop,
      ModelSpec model,
      Placement placement,
      ScoringMetrics metrics) {
    this.input = Objects.requireNonNull(input, "input is null");
    this.plan = Objects.requireNonNull(plan, "plan is null");
    this.hadoop = Objects.requireNonNull(hadoop, "hadoop is null");
    this.model = Objects.requireNonNull(model, "model is null");
    this.placement = Objects.requireNonNull(placement, "placement is null");
    this.metrics = Objects.requireNonNull(metrics, "metrics is null");
  }

  /** The input's rows with the output columns appended; lazy. */
  public Dataset<Row> output() {
    return apply(input);
  }

  /**
   * {@code rows} (with the schema of the input this scoring was prepared on) with the output
   * columns appended; lazy.
   */
  public Dataset<Row> apply(Dataset<Row> rows) {
    if (!rows.schema().equals(input.schema())) {
      throw new IllegalArgumentException(
          String.format(
              "model %s: rows to score have schema %s, not the %s this scoring was prepared on",
              model, rows.schema().simpleString(), input.schema().simpleString()));
    }
    return SparkInternals.mapPartitions(
        rows, new PartitionScorer(plan, hadoop, metrics), plan.schema());
  }

  /** The schema of {@link #output()}: the input's columns, then the output columns. */
  public StructType schema() {
    return plan.schema();
  }

  /** The resolved model version and device. */
  public ModelSpec model() {
    return model;
  }

  /** Where the model runs, and why {@code device: auto} runs on the CPU when it does. */
  public Placement placement() {
    return placement;
  }

  /** Rows, batches and model loads of the actions run on what this scoring returned. */
  public ScoringMetrics metrics() {
    return metrics;
  }
}
