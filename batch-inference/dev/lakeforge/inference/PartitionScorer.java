package dev.lakeforge.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.bitset.BitSetMethods;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Scores one partition on an executor: takes the JVM's cached model on the task's device (the CPU,
 * or the GPU Spark assigned to the task; loading it on first use), reads rows in batches of {@code
 * batch-size}, fills each input's reusable direct buffer straight from the rows' primitive values,
 * makes one model call per batch, and appends the output columns. It works on Spark's internal rows
 * (the rows the scan produces), so no value is boxed or converted to a {@code Row} on the way in or
 * out. Rows are pulled lazily: a partition is never held in memory beyond one batch.
 */
final class PartitionScorer implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final long serialVersionUID = 1L;

  private final ScoringPlan plan;
  private final Broadcast<SerializableConfiguration> hadoop;
  private final ScoringMetrics metrics;

  PartitionScorer(
      ScoringPlan plan, Broadcast<SerializableConfiguration> hadoop, ScoringMetrics metrics) {
    this.plan = plan;
    this.hadoop = hadoop;
    this.metrics = metrics;
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
    if (!rows.hasNext()) {
      return Collections.emptyIterator();
    }
    org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
    DeviceId on = Placement.forTask(plan.model(), task);
    ModelCache.Lease lease =
        ModelCache.acquire(plan.model(), on, plan.runtime(), () -> hadoop.value().value());
    if (lease.loaded()) {
      metrics.loaded(lease.loadNanos());
    }
    metrics.ran(task, on);
    ScoringPlan.TextPlan text = plan.text();
    if (text != null) {
      java.nio.file.Path file =
          lease
              .files()
              .file(text.tokenizer())
              .orElseThrow(
                  () ->
                      new InferenceException(
                          String.format(
                              "Cannot score with model %s: its version has no file %s on this executor"
                                  + " (files: %s).",
                              plan.model(), text.tokenizer(), lease.files().files().keySet())));
      return new TextBatches(
          plan,
          lease.predictor(),
          TextTokenizer.of(plan.model(), file, text.mapping()),
          rows,
          metrics,
          task == null ? 0 : task.partitionId());
    }
    return new Batches(plan, lease.predictor(), rows, metrics);
  }

  /** The output columns of {@code plan} for {@code capacity} rows. */
  static OutputColumn[] outputColumns(ScoringPlan plan, int capacity) {
    OutputColumn[] out = new OutputColumn[plan.outputs().size()];
    for (int o = 0; o < out.length; o++) {
      out[o] = new OutputColumn(plan.outputs().get(o).type(), capacity);
    }
    return out;
  }

  /**
   * Builds output rows: an input row joined with one row of output values. One row object is reused
   * for every row a partition returns; Spark copies each into its own format as it reads it.
   */
  static final class OutputRows {
    private final InternalRow values;
    private final JoinedRow joined = new JoinedRow();

    OutputRows(ScoringPlan plan) {
      StructType types = new StructType();
      for (ScoringPlan.OutputPlan o : plan.outputs()) {
        types = types.add(o.column(), o.type());
      }
      this.values = new SpecificInternalRow(types);
    }

    /** {@code in} with row {@code r} of {@code out} appended. */
    InternalRow of(InternalRow in, OutputColumn[] out, int r) {
      for (int o = 0; o < out.length; o++) {
        out[o].writeTo(r, values, o);
      }
      return joined.apply(in, values);
    }
  }

  /** The scored rows of a partition, one batch at a time. */
  static final class Batches implements Iterator<InternalRow> {
    private final ScoringPlan plan;
    private final Predictor predictor;
    private final Iterator<InternalRow> rows;
    private final ScoringMetrics metrics;
    private final Set<String> fetch;
    private final InternalRow[] batch;
    private final OutputColumn[] outputs;
    private final OutputRows out;
    private final FloatBuffer[] buffers;
    private float[] scratch;
    private int size;
    private int next;

    Batches(
        ScoringPlan plan, Predictor predictor, Iterator<InternalRow> rows, ScoringMetrics metrics) {
      this.plan = plan;
      this.predictor = predictor;
      this.rows = rows;
      this.metrics = metrics;
      this.fetch = plan.fetch();
      int n = plan.runtime().batchSize();
      this.batch = new InternalRow[n];
      this.outputs = outputColumns(plan, n);
      this.out = new OutputRows(plan);
      this.buffers = new FloatBuffer[plan.inputs().size()];
      for (int i = 0; i < buffers.length; i++) {
        buffers[i] =
            ByteBuffer.allocateDirect(Math.multiplyExact(n, plan.inputs().get(i).perRow()) * 4)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
      }
    }

    @Override
    public boolean hasNext() {
      if (next < size) {
        return true;
      }
      if (!rows.hasNext()) {
        return false;
      }
      score();
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      InternalRow in = batch[next];
      batch[next] = null;
      return out.of(in, outputs, next++);
    }

    private void score() {
      size = 0;
      next = 0;
      while (size < batch.length && rows.hasNext()) {
        // the scan reuses its row object: keep a copy until the batch is scored and returned
        batch[size++] = rows.next().copy();
      }
      Map<String, Tensor> inputs = new LinkedHashMap<>();
      for (int i = 0; i < buffers.length; i++) {
        ScoringPlan.InputPlan p = plan.inputs().get(i);
        FloatBuffer buf = buffers[i];
        buf.clear().limit(size * p.perRow());
        if (p.tabular()) {
          fillTabular(p, buf);
        } else {
          fillArray(p, buf);
        }
        inputs.put(p.name(), Tensor.of(buf, p.shape(size)));
      }
      Map<String, Tensor> result = predictor.predict(inputs, fetch);
      for (int o = 0; o < outputs.length; o++) {
        ScoringPlan.OutputPlan p = plan.outputs().get(o);
        map(plan, p, result.get(p.mapping().from()), size, outputs[o], null);
      }
      metrics.batch(size);
    }

    private void fillTabular(ScoringPlan.InputPlan p, FloatBuffer buf) {
      int[] ordinals = p.ordinals();
      char[] kinds = p.kinds();
      float[] fill = p.fill();
      boolean strict = ((InputMapping.Tabular) p.mapping()).nulls() == NullPolicy.ERROR;
      int width = ordinals.length;
      for (int r = 0; r < size; r++) {
        InternalRow row = batch[r];
        int base = r * width;
        for (int j = 0; j < width; j++) {
          int o = ordinals[j];
          float v;
          if (row.isNullAt(o)) {
            if (strict) {
              throw nullValue(p, j);
            }
            v = fill[j];
          } else {
            v =
                switch (kinds[j]) {
                  case ScoringPlan.BYTE -> row.getByte(o);
                  case ScoringPlan.SHORT -> row.getShort(o);
                  case ScoringPlan.INT -> row.getInt(o);
                  case ScoringPlan.LONG -> row.getLong(o);
                  case ScoringPlan.FLOAT -> row.getFloat(o);
                  case ScoringPlan.DOUBLE -> (float) row.getDouble(o);
                  default ->
                      (float)
                          row.getDecimal(o, p.decimals()[j].precision(), p.decimals()[j].scale())
                              .toDouble();
                };
          }
          buf.put(base + j, v);
        }
      }
    }

    private void fillArray(ScoringPlan.InputPlan p, FloatBuffer buf) {
      int o = p.ordinals()[0];
      int n = p.perRow();
      boolean floats = p.kinds()[0] == ScoringPlan.FLOAT;
      String column = p.mapping().columns().get(0);
      for (int r = 0; r < size; r++) {
        InternalRow row = batch[r];
        if (row.isNullAt(o)) {
          throw new InferenceException(
              String.format(
                  "Cannot score with model %s: column `%s` is null in a row; tensor input `%s` needs an array"
                      + " of %d values in every row. Filter those rows out first.",
                  plan.model(), column, p.name(), n));
        }
        ArrayData values = row.getArray(o);
        if (values.numElements() != n) {
          throw new InferenceException(
              String.format(
                  "Cannot score with model %s: column `%s` holds an array of %d values in a row, but tensor input"
                      + " `%s` reshapes it to %s, which takes %d. Fix the data or the mapping's shape.",
                  plan.model(),
                  column,
                  values.numElements(),
                  p.name(),
                  ((InputMapping.ArrayColumn) p.mapping()).shape(),
                  n));
        }
        int at = firstNull(values, n);
        if (at >= 0) {
          throw new InferenceException(
              String.format(
                  "Cannot score with model %s: column `%s` has a null element at position %d in a row."
                      + " Replace null elements before scoring.",
                  plan.model(), column, at));
        }
        buf.put(r * n, floats ? floatsOf(values, n) : narrowed(values.toDoubleArray()), 0, n);
      }
    }

    /**
     * The index of the first null element of {@code values}, or -1. An {@link UnsafeArrayData}
     * (what the scan and a shuffle produce) is checked a word of its null bits at a time.
     */
    private static int firstNull(ArrayData values, int n) {
      if (values instanceof UnsafeArrayData u
          && !BitSetMethods.anySet(u.getBaseObject(), u.getBaseOffset() + 8, (n + 63) / 64)) {
        return -1;
      }
      for (int k = 0; k < n; k++) {
        if (values.isNullAt(k)) {
          return k;
        }
      }
      return -1;
    }

    /**
     * The {@code n} float elements of {@code values} (without nulls): one memory copy into a reused
     * array for an {@link UnsafeArrayData}, the array's own bulk copy otherwise.
     */
    private float[] floatsOf(ArrayData values, int n) {
      if (values instanceof UnsafeArrayData u) {
        if (scratch == null || scratch.length < n) {
          scratch = new float[n];
        }
        Platform.copyMemory(
            u.getBaseObject(),
            u.getBaseOffset() + UnsafeArrayData.calculateHeaderPortionInBytes(n),
            scratch,
            Platform.FLOAT_ARRAY_OFFSET,
            n * 4L);
        return scratch;
      }
      return values.toFloatArray();
    }

    private float[] narrowed(double[] values) {
      if (scratch == null || scratch.length < values.length) {
        scratch = new float[values.length];
      }
      for (int k = 0; k < values.length; k++) {
        scratch[k] = (float) values[k];
      }
      return scratch;
    }

    private InferenceException nullValue(ScoringPlan.InputPlan p, int j) {
      return new InferenceException(
          String.format(
              "Cannot score with model %s: column `%s` is null in a row, and input `%s` says nulls: error."
                  + " Filter or fill the nulls, or set nulls: zero or nulls: mean.",
              plan.model(), p.mapping().columns().get(j), p.name()));
    }
  }

  /**
   * Fills rows {@code 0..size} of {@code out} with output column {@code p} of a batch of {@code
   * size} rows, taken from the model output {@code t}.
   *
   * @param mask for a text input, the batch's attention mask ({@code [size, sequence]}), which a
   *     pooled output averages over; null to pool over every position
   */
  static void map(
      ScoringPlan plan,
      ScoringPlan.OutputPlan p,
      Tensor t,
      int size,
      OutputColumn out,
      java.nio.LongBuffer mask) {
    long[] shape = t.shape();
    if (shape.length == 0 || shape[0] != size || t.size() % size != 0) {
      throw new InferenceException(
          String.format(
              "Cannot score with model %s: output `%s` came back as %s for a batch of %d rows; its first"
                  + " dimension must be the batch.",
              plan.model(), p.mapping().from(), t, size));
    }
    int perRow = t.size() / size;
    OutputMapping m = p.mapping();
    if (m instanceof OutputMapping.Element el) {
      if (el.index() >= perRow) {
        throw new InferenceException(
            String.format(
                "Cannot score with model %s: output column `%s` takes element %d of `%s`, which has %d per"
                    + " row.",
                plan.model(), p.column(), el.index(), el.from(), perRow));
      }
      for (int r = 0; r < size; r++) {
        out.putElement(r, t, r * perRow + el.index());
      }
    } else if (m instanceof OutputMapping.Argmax am) {
      if (!am.labels().isEmpty() && am.labels().size() != perRow) {
        throw new InferenceException(
            String.format(
                "Cannot score with model %s: output column `%s` names %d labels, but `%s` has %d values per"
                    + " row.",
                plan.model(), p.column(), am.labels().size(), am.from(), perRow));
      }
      for (int r = 0; r < size; r++) {
        int base = r * perRow;
        int best = 0;
        for (int k = 1; k < perRow; k++) {
          if (t.getDouble(base + k) > t.getDouble(base + best)) {
            best = k;
          }
        }
        if (am.labels().isEmpty()) {
          out.putInt(r, best);
        } else {
          out.putString(r, am.labels().get(best));
        }
      }
    } else if (m instanceof OutputMapping.Pooled pooled) {
      pool(plan, p, pooled, t, size, out, mask);
    } else {
      for (int r = 0; r < size; r++) {
        float[] v = new float[perRow];
        for (int k = 0; k < perRow; k++) {
          v[k] = (float) t.getDouble(r * perRow + k);
        }
        out.putVector(r, v);
      }
    }
  }

  /**
   * A pooled output: for each row, the mean over the sequence positions its mask marks (all
   * positions without a mask) of the output's {@code [sequence, width]} part, scaled to unit length
   * if asked.
   */
  private static void pool(
      ScoringPlan plan,
      ScoringPlan.OutputPlan p,
      OutputMapping.Pooled pooled,
      Tensor t,
      int size,
      OutputColumn out,
      java.nio.LongBuffer mask) {
    long[] shape = t.shape();
    if (shape.length != 3) {
      throw new InferenceException(
          String.format(
              "Cannot score with model %s: output column `%s` pools `%s`, which came back as %s; pooling"
                  + " takes [batch, sequence, width].",
              plan.model(), p.column(), pooled.from(), t));
    }
    int length = (int) shape[1];
    int width = (int) shape[2];
    if (mask != null && mask.limit() != size * length) {
      throw new InferenceException(
          String.format(
              "Cannot score with model %s: output `%s` has %d positions per row, but the text input has"
                  + " %d; pool: mean needs one output position per token.",
              plan.model(), pooled.from(), length, mask.limit() / size));
    }
    for (int r = 0; r < size; r++) {
      double[] sum = new double[width];
      int count = 0;
      for (int j = 0; j < length; j++) {
        if (mask != null && mask.get(r * length + j) == 0) {
          continue;
        }
        count++;
        int base = (r * length + j) * width;
        for (int k = 0; k < width; k++) {
          sum[k] += t.getDouble(base + k);
        }
      }
      float[] v = new float[width];
      double norm = 0;
      for (int k = 0; k < width; k++) {
        double mean = count == 0 ? 0 : sum[k] / count;
        v[k] = (float) mean;
        norm += mean * mean;
      }
      if (pooled.normalize() && norm > 0) {
        double scale = 1 / Math.sqrt(norm);
        for (int k = 0; k < width; k++) {
          v[k] = (float) (v[k] * scale);
        }
      }
      out.putVector(r, v);
    }
  }
}
