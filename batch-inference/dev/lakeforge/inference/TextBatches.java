package dev.lakeforge.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.util.TaskCompletionListener;

/**
 * The scored rows of a partition whose model takes a text input. Rows are read in windows of {@link
 * RuntimeOptions#BUCKET_WINDOW_BATCHES} batches (one batch without bucketing); a window's texts are
 * tokenized on a worker thread of the partition while the model scores the window before it, so
 * tokenizing and inference overlap, and at most two windows are held. Within a window, rows are
 * sorted by token length (bucketing) and cut into batches, each padded to its own longest row (or
 * to the model's fixed length); the outputs are put back in the rows' order, so every output row
 * carries its own input row's values.
 */
final class TextBatches implements Iterator<InternalRow> {
  private final ScoringPlan plan;
  private final ScoringPlan.TextPlan text;
  private final Predictor predictor;
  private final TextTokenizer tokenizer;
  private final Iterator<InternalRow> rows;
  private final PartitionScorer.OutputRows out;
  private final ScoringMetrics metrics;
  private final int partition;
  private final int window;
  private final Set<String> fetch;
  private ExecutorService worker;
  private Future<Window> pending;
  private Window current;
  private int next;
  private long position;
  private boolean started;
  private LongBuffer ids;
  private LongBuffer mask;
  private LongBuffer types;
  private OutputColumn[] scratch;

  /** One window: its rows, their tokens, the order they are batched in, and their outputs. */
  private record Window(
      InternalRow[] rows, TextTokenizer.Tokens[] tokens, int[] order, OutputColumn[] out) {}

  TextBatches(
      ScoringPlan plan,
      Predictor predictor,
      TextTokenizer tokenizer,
      Iterator<InternalRow> rows,
      ScoringMetrics metrics,
      int partition) {
    this.plan = plan;
    this.text = plan.text();
    this.predictor = predictor;
    this.tokenizer = tokenizer;
    this.rows = rows;
    this.out = new PartitionScorer.OutputRows(plan);
    this.metrics = metrics;
    this.partition = partition;
    int batch = plan.runtime().batchSize();
    this.window =
        plan.runtime().bucketing()
            ? (int) Math.min((long) batch * RuntimeOptions.BUCKET_WINDOW_BATCHES, 1 << 20)
            : batch;
    this.fetch = plan.fetch();
    TaskContext task = TaskContext.get();
    if (task != null) {
      // A task that stops early (a limit, a failure downstream) still ends the worker thread.
      task.addTaskCompletionListener((TaskCompletionListener) context -> close());
    }
  }

  @Override
  public boolean hasNext() {
    if (current != null && next < current.rows().length) {
      return true;
    }
    if (!started) {
      started = true;
      pending = readWindow();
    }
    if (pending == null) {
      current = null;
      close();
      return false;
    }
    Window w = await(pending);
    pending = readWindow();
    score(w);
    current = w;
    next = 0;
    return true;
  }

  @Override
  public InternalRow next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    InternalRow in = current.rows()[next];
    current.rows()[next] = null;
    return out.of(in, current.out(), next++);
  }

  /**
   * Reads the next window's rows (on the task's thread: Spark's iterators belong to it) and hands
   * their texts to the worker; null when the partition has no more rows.
   */
  private Future<Window> readWindow() {
    if (!rows.hasNext()) {
      return null;
    }
    List<InternalRow> read = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    int ordinal = text.ordinal();
    while (read.size() < window && rows.hasNext()) {
      // the scan reuses its row object: keep a copy until the window is scored and returned
      InternalRow row = rows.next().copy();
      if (row.isNullAt(ordinal)) {
        throw new InferenceException(
            String.format(
                "Cannot score with model %s: column `%s` is null in %s; text input `%s` needs a string in"
                    + " every row. Filter those rows out or fill them (e.g. coalesce(%s, '')).",
                plan.model(),
                text.mapping().column(),
                plan.describeRow(row, partition, position + read.size()),
                text.label(),
                text.mapping().column()));
      }
      read.add(row);
      texts.add(row.getUTF8String(ordinal).toString());
    }
    long first = position;
    position += read.size();
    InternalRow[] batchRows = read.toArray(InternalRow[]::new);
    String[] batchTexts = texts.toArray(String[]::new);
    return worker().submit(() -> tokenize(batchRows, batchTexts, first));
  }

  private ExecutorService worker() {
    if (worker == null) {
      String name = "lakeforge-tokenize-" + plan.model() + "-p" + partition;
      worker =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
              });
    }
    return worker;
  }

  /** Runs on the worker: tokenizes a window and orders it for batching. */
  private Window tokenize(InternalRow[] read, String[] texts, long first) {
    TextTokenizer.Tokens[] tokens = new TextTokenizer.Tokens[read.length];
    InputMapping.Text m = text.mapping();
    for (int i = 0; i < read.length; i++) {
      tokens[i] = tokenizer.encode(texts[i]);
      if (!m.truncation() && tokens[i].ids().length > m.maxLength()) {
        throw new InferenceException(
            String.format(
                "Cannot score with model %s: column `%s` in %s has %d tokens, more than text input `%s`'s"
                    + " max-length %d, and truncation is off. Set truncation: true to cut such texts, raise"
                    + " max-length (up to what the model takes), or shorten the text.",
                plan.model(),
                m.column(),
                plan.describeRow(read[i], partition, first + i),
                tokens[i].ids().length,
                text.label(),
                m.maxLength()));
      }
    }
    int[] order = IntStream.range(0, read.length).toArray();
    if (plan.runtime().bucketing()) {
      order =
          IntStream.range(0, read.length)
              .boxed()
              .sorted(Comparator.comparingInt(i -> tokens[i].ids().length))
              .mapToInt(Integer::intValue)
              .toArray();
    }
    return new Window(read, tokens, order, PartitionScorer.outputColumns(plan, read.length));
  }

  private Window await(Future<Window> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new InferenceException(
          "Scoring with model " + plan.model() + " was interrupted while tokenizing.", e);
    } catch (ExecutionException e) {
      close();
      if (e.getCause() instanceof InferenceException ie) {
        throw ie;
      }
      throw new InferenceException(
          String.format(
              "Cannot score with model %s: tokenizing column `%s` failed: %s",
              plan.model(), text.mapping().column(), e.getCause()),
          e.getCause());
    }
  }

  /** Scores a window batch by batch, in its batching order, and puts outputs in row order. */
  private void score(Window w) {
    int batch = plan.runtime().batchSize();
    int n = w.rows().length;
    for (int start = 0; start < n; start += batch) {
      int size = Math.min(batch, n - start);
      int length = text.fixedLength();
      if (length < 0) {
        length = 1;
        for (int k = 0; k < size; k++) {
          length = Math.max(length, w.tokens()[w.order()[start + k]].ids().length);
        }
      }
      allocate();
      int cells = size * length;
      ids.clear().limit(cells);
      mask.clear().limit(cells);
      types.clear().limit(cells);
      for (int k = 0; k < size; k++) {
        TextTokenizer.Tokens t = w.tokens()[w.order()[start + k]];
        int base = k * length;
        int real = Math.min(t.ids().length, length);
        for (int j = 0; j < length; j++) {
          boolean token = j < real;
          ids.put(base + j, token ? t.ids()[j] : 0);
          mask.put(base + j, token ? 1 : 0);
          types.put(base + j, token ? t.typeIds()[j] : 0);
        }
      }
      Map<String, Tensor> inputs = new LinkedHashMap<>();
      inputs.put(ScoringPlan.INPUT_IDS, Tensor.of(ids, size, length));
      if (text.attentionMask()) {
        inputs.put(ScoringPlan.ATTENTION_MASK, Tensor.of(mask, size, length));
      }
      if (text.tokenTypeIds()) {
        inputs.put(ScoringPlan.TOKEN_TYPE_IDS, Tensor.of(types, size, length));
      }
      Map<String, Tensor> result = predictor.predict(inputs, fetch);
      OutputColumn[] scratch = scratch();
      for (int o = 0; o < scratch.length; o++) {
        ScoringPlan.OutputPlan p = plan.outputs().get(o);
        PartitionScorer.map(plan, p, result.get(p.mapping().from()), size, scratch[o], mask);
        for (int k = 0; k < size; k++) {
          scratch[o].copyTo(k, w.out()[o], w.order()[start + k]);
        }
      }
      metrics.batch(size);
    }
  }

  /** The reusable output columns of one batch, before they are put back in the rows' order. */
  private OutputColumn[] scratch() {
    if (scratch == null) {
      scratch = PartitionScorer.outputColumns(plan, plan.runtime().batchSize());
    }
    return scratch;
  }

  /**
   * The reusable direct buffers of a batch: room for batch-size rows of the longest sequence a row
   * can have (the max length, or the model's fixed length).
   */
  private void allocate() {
    if (ids != null) {
      return;
    }
    int longest = Math.max(text.fixedLength(), text.mapping().maxLength());
    int cells = Math.multiplyExact(plan.runtime().batchSize(), longest);
    ids = direct(cells);
    mask = direct(cells);
    types = direct(cells);
  }

  private static LongBuffer direct(int cells) {
    return ByteBuffer.allocateDirect(Math.multiplyExact(cells, Long.BYTES))
        .order(ByteOrder.nativeOrder())
        .asLongBuffer();
  }

  private void close() {
    if (worker != null) {
      worker.shutdownNow();
    }
  }
}
