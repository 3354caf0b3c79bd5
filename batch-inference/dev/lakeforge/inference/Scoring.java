package dev.lakeforge.inference;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A prepared scoring: the lazy scored DataFrame, the model version it scores with (an alias
 * resolved when it was prepared), and the metrics its actions fill.
 *
 * @param output the input's rows with the output columns appended; nothing has run yet
 * @param model the resolved model version and device
 * @param metrics rows, batches and model loads of the actions run on {@code output}
 */
public record Scoring(Dataset<Row> output, ModelSpec model, ScoringMetrics metrics) {}
