package dev.lakeforge.inference;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.lakeforge.bench.BenchFiles;
import dev.lakeforge.core.Platform;
import dev.lakeforge.core.PlatformConfig;
import dev.lakeforge.core.SessionFactory;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.ApplyTablesJob;
import dev.lakeforge.lakehouse.Lakehouse;
import dev.lakeforge.lakehouse.TableSpec;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Batch inference throughput with compute-bound models, in one process, on the same generated Delta
 * table: {@code --model cnn} (a small CNN, {@link TestModels#writeCnnModel}, on {@code [1, 28, 28]}
 * float arrays) or {@code --model minilm} (all-MiniLM-L6-v2 fp32 on sentences of 5 to 120 words,
 * max-length 128, mean-pooled and normalized). Rows/s for:
 *
 * <ul>
 *   <li>(a) ONNX Runtime alone, no Spark: the same rows in batches of the same size, one session
 *       with one intra-op thread called from as many threads as Spark has task slots (what the job
 *       runs: one model per JVM shared by its tasks), each over a contiguous share of the rows; for
 *       text, tokenizing included and each batch padded to its longest row, in input order;
 *   <li>(a′) text only: (a) with the rows sorted by token length within windows of {@link
 *       RuntimeOptions#BUCKET_WINDOW_BATCHES} batches, as the job's bucketing does;
 *   <li>(b) {@link InferenceJob} into a new Delta table (text: bucketing on, its default);
 *   <li>(b′) text only: (b) with {@code runtime: {bucketing: false}};
 *   <li>(c) a naive per-row Spark UDF (model loaded lazily once per JVM with default session
 *       options, one call per row) into a Delta folder, on the first {@code --udf-rows} rows;
 *   <li>(d) the job of (b) with a no-op model of the same inputs and output shape;
 *   <li>(e) the scoring of (b) into Spark's {@code noop} sink;
 *   <li>(f) the same table read into the {@code noop} sink, no scoring.
 * </ul>
 *
 * <p>The first round is an untimed warm-up; the variants' order rotates between rounds; medians as
 * Markdown on stdout, progress on stderr.
 */
final class ComputeInferenceBench {
  private static final int PIXELS = 28 * 28;
  private static final int MAX_LENGTH = 128;
  private static final int HIDDEN = 384;

  private final SparkSession spark;
  private final Lakehouse lh;
  private final boolean text;
  private final Path onnx;
  private final Path tokenizer;
  private final int batchSize;
  private final int slots;
  private final Map<String, Object> notes = new LinkedHashMap<>();
  private List<String> docs;
  private int round;

  private ComputeInferenceBench(
      SparkSession spark, boolean text, Path onnx, Path tokenizer, int batchSize) {
    this.spark = spark;
    this.lh = Lakehouse.open(spark);
    this.text = text;
    this.onnx = onnx;
    this.tokenizer = tokenizer;
    this.batchSize = batchSize;
    this.slots = spark.sparkContext().defaultParallelism();
  }

  private String table() {
    return text ? "bench.docs" : "bench.images";
  }

  private String key() {
    return text ? "doc_id" : "image_id";
  }

  private String outputColumn() {
    return text ? "embedding" : "probs";
  }

  /** Pixel {@code k} of image {@code id}, as the input table holds it. */
  private static float pixel(long id, int k) {
    return (float) (((id * 131 + k * 7) % 256) / 255.0);
  }

  /** Sentences of 5 to 120 common words (about one token each), from a fixed seed. */
  static List<String> sentences(int n) {
    String[] words =
        ("the of and a to in is you that it he was for on are as with his they i at be this have"
                + " from or one had by word but not what all were we when your can said there use an"
                + " each which she do how their if will up other about out many then them these so"
                + " some her would make like him into time has look two more write go see number no"
                + " way could people my than first water been call who oil its now find long down day"
                + " did get come made may part over new sound take only little work know place year"
                + " live me back give most very after thing our just name good sentence man think say"
                + " great where help through much before line right too mean old any same tell boy"
                + " follow came want show also around form three small set put end does another well")
            .split(" ");
    Random random = new Random(29);
    List<String> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int length = 5 + random.nextInt(116);
      StringBuilder b = new StringBuilder();
      for (int w = 0; w < length; w++) {
        b.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
      }
      out.add(b.append('.').toString());
    }
    return out;
  }

  private void createInput(int rows) throws Exception {
    TableSpec spec =
        dev.lakeforge.core.YamlSpecReader.parse(
            text
                ? """
                  name: bench.docs
                  format: delta
                  columns:
                    - {name: doc_id, type: bigint}
                    - {name: text, type: string}
                  """
                : """
                  name: bench.images
                  format: delta
                  columns:
                    - {name: image_id, type: bigint}
                    - {name: pixels, type: 'array<float>'}
                  """,
            TableSpec.class,
            "bench input");
    new ApplyTablesJob(List.of(spec)).run(spark);
    Dataset<Row> in;
    if (text) {
      docs = sentences(rows);
      List<Row> list = new ArrayList<>(rows);
      for (int i = 0; i < rows; i++) {
        list.add(RowFactory.create((long) i, docs.get(i)));
      }
      StructType schema =
          new StructType()
              .add("doc_id", DataTypes.LongType, false)
              .add("text", DataTypes.StringType);
      in = spark.createDataFrame(list, schema);
    } else {
      in =
          spark
              .range(rows)
              .selectExpr(
                  "id AS image_id",
                  "transform(sequence(0, %d), k -> CAST(((id * 131 + k * 7) %% 256) / 255.0 AS FLOAT))"
                          .formatted(PIXELS - 1)
                      + " AS pixels");
    }
    in.repartition(4)
        .sortWithinPartitions(key())
        .writeTo(lh.sqlName(lh.spec(spec.name())))
        .append();
  }

  private InferenceJobSpec job(String model, String output, boolean bucketing) {
    String inputs =
        text
            ? "text: {column: text, max-length: %d}".formatted(MAX_LENGTH)
            : "image: {column: pixels, shape: [1, 28, 28]}";
    String outputs =
        text
            ? "embedding: {from: last_hidden_state, pool: mean, normalize: true}"
            : "probs: {from: probs}";
    return InferenceJobSpec.parse(
        """
        name: bench_%s
        model: %s
        input: {table: %s, keys: [%s]}
        inputs:
          %s
        outputs:
          %s
        output: {table: %s}
        runtime: {batch-size: %d, threads: 1, bucketing: %s}
        """
            .formatted(
                output.replace('.', '_'),
                model,
                table(),
                key(),
                inputs,
                outputs,
                output,
                batchSize,
                bucketing),
        "bench job");
  }

  /** (b), (b′) and (d): rows/s of the job. */
  private double job(String model, long rows, boolean bucketing) {
    String tag = model.replaceAll("\\W", "_") + (bucketing ? "" : "_unbucketed");
    InferenceJob.Result r =
        new InferenceJob(job(model, "bench.out_" + tag + "_" + round, bucketing)).run(spark);
    if (r.rowsScored() != rows) {
      throw new IllegalStateException("scored " + r.rowsScored() + " of " + rows);
    }
    notes.put(tag + " time by phase (last run)", r.phases());
    notes.put(
        tag + " commits, model calls, rows through the model (last run)",
        r.commits() + ", " + r.metrics().batches() + ", " + r.metrics().rows());
    return r.rowsPerSecond();
  }

  /** (e): the job's scoring into the noop sink. */
  private double noopSink(String model, long rows) {
    InferenceJobSpec spec = job(model, "bench.unused", true);
    Dataset<Row> in = spark.table(lh.sqlName(lh.spec(TableName.parse(table()))));
    long t0 = System.nanoTime();
    Scoring s = Scorer.of(spec.model(), spec.mappings()).runtime(spec.runtime()).prepare(in);
    s.output().select(key(), outputColumn()).write().format("noop").mode("overwrite").save();
    if (s.metrics().rows() != rows) {
      throw new IllegalStateException("scored " + s.metrics().rows() + " of " + rows);
    }
    notes.put("(e) model calls (last run)", s.metrics().batches());
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /** (f): the input read into the noop sink, no scoring. */
  private double readOnly(long rows) {
    Dataset<Row> in = spark.table(lh.sqlName(lh.spec(TableName.parse(table()))));
    long t0 = System.nanoTime();
    dev.lakeforge.lakehouse.access.AccessScope.internal(
        () -> in.write().format("noop").mode("overwrite").save());
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /** (c): a per-row UDF over the first {@code rows} rows into a new Delta folder. */
  private double udf(long rows, Path out) {
    UserDefinedFunction score =
        text
            ? functions.udf(
                new PerRowText(onnx.toString(), tokenizer.toString()),
                DataTypes.createArrayType(DataTypes.FloatType))
            : functions.udf(
                new PerRowImage(onnx.toString()), DataTypes.createArrayType(DataTypes.FloatType));
    Dataset<Row> in = spark.table(lh.sqlName(lh.spec(TableName.parse(table()))));
    long t0 = System.nanoTime();
    dev.lakeforge.lakehouse.access.AccessScope.internal(
        () ->
            in.where(functions.col(key()).lt(rows))
                .select(
                    functions.col(key()),
                    score.apply(functions.col(text ? "text" : "pixels")).as(outputColumn()))
                .write()
                .format("delta")
                .save(out.resolve("udf_" + round).toString()));
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /** (a) and (a′): ONNX Runtime alone, {@link #slots} threads sharing one session. */
  private double raw(int rows, boolean sorted) throws Exception {
    OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
    float[] pixels = null;
    if (!text) {
      pixels = new float[rows * PIXELS];
      for (int id = 0; id < rows; id++) {
        for (int k = 0; k < PIXELS; k++) {
          pixels[id * PIXELS + k] = pixel(id, k);
        }
      }
    }
    List<HuggingFaceTokenizer> tokenizers = new ArrayList<>();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      so.setInterOpNumThreads(1);
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession session = env.createSession(onnx.toString(), so)) {
        if (text) {
          for (int t = 0; t < slots; t++) {
            tokenizers.add(newTokenizer(tokenizer));
          }
        }
        AtomicLong real = new AtomicLong();
        AtomicLong padded = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(slots);
        final float[] all = pixels;
        long t0 = System.nanoTime();
        List<Future<Double>> parts = new ArrayList<>();
        for (int t = 0; t < slots; t++) {
          int from = (int) ((long) rows * t / slots);
          int to = (int) ((long) rows * (t + 1) / slots);
          int thread = t;
          parts.add(
              pool.submit(
                  () ->
                      text
                          ? rawText(
                              env, session, tokenizers.get(thread), from, to, sorted, real, padded)
                          : rawImages(env, session, all, from, to)));
        }
        double sum = 0;
        for (Future<Double> f : parts) {
          sum += f.get();
        }
        long took = System.nanoTime() - t0;
        pool.shutdown();
        if (Double.isNaN(sum)) {
          throw new IllegalStateException("NaN output");
        }
        if (text) {
          notes.put(
              "(a" + (sorted ? "′" : "") + ") real tokens / padded tokens",
              String.format(Locale.ROOT, "%.2f", real.get() / (double) padded.get()));
        }
        return rows / (took / 1e9);
      }
    } finally {
      tokenizers.forEach(HuggingFaceTokenizer::close);
    }
  }

  private double rawImages(OrtEnvironment env, OrtSession session, float[] all, int from, int to)
      throws OrtException {
    FloatBuffer buf =
        ByteBuffer.allocateDirect(batchSize * PIXELS * 4)
            .order(ByteOrder.nativeOrder())
            .asFloatBuffer();
    double sum = 0;
    for (int start = from; start < to; start += batchSize) {
      int b = Math.min(batchSize, to - start);
      buf.clear();
      buf.put(all, start * PIXELS, b * PIXELS).flip();
      try (OnnxTensor in = OnnxTensor.createTensor(env, buf, new long[] {b, 1, 28, 28});
          OrtSession.Result r = session.run(Map.of("image", in))) {
        float[][] p = (float[][]) r.get(0).getValue();
        sum += p[b - 1][0];
      }
    }
    return sum;
  }

  private double rawText(
      OrtEnvironment env,
      OrtSession session,
      HuggingFaceTokenizer tok,
      int from,
      int to,
      boolean sorted,
      AtomicLong real,
      AtomicLong padded)
      throws OrtException {
    int window = sorted ? batchSize * RuntimeOptions.BUCKET_WINDOW_BATCHES : batchSize;
    LongBuffer ids = directLongs(batchSize * MAX_LENGTH);
    LongBuffer mask = directLongs(batchSize * MAX_LENGTH);
    LongBuffer types = directLongs(batchSize * MAX_LENGTH);
    double sum = 0;
    for (int w = from; w < to; w += window) {
      int n = Math.min(window, to - w);
      Encoding[] enc = new Encoding[n];
      for (int i = 0; i < n; i++) {
        enc[i] = tok.encode(docs.get(w + i));
      }
      Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
      if (sorted) {
        java.util.Arrays.sort(order, Comparator.comparingInt(i -> enc[i].getIds().length));
      }
      float[][] out = new float[n][];
      for (int start = 0; start < n; start += batchSize) {
        int b = Math.min(batchSize, n - start);
        int len = 0;
        for (int i = 0; i < b; i++) {
          len = Math.max(len, enc[order[start + i]].getIds().length);
        }
        ids.clear();
        mask.clear();
        types.clear();
        for (int i = 0; i < b; i++) {
          Encoding e = enc[order[start + i]];
          long[] id = e.getIds();
          real.addAndGet(id.length);
          for (int k = 0; k < len; k++) {
            ids.put(k < id.length ? id[k] : 0);
            mask.put(k < id.length ? 1 : 0);
            types.put(0);
          }
        }
        padded.addAndGet((long) b * len);
        ids.flip();
        mask.flip();
        types.flip();
        long[] shape = {b, len};
        try (OnnxTensor tIds = OnnxTensor.createTensor(env, ids, shape);
            OnnxTensor tMask = OnnxTensor.createTensor(env, mask, shape);
            OnnxTensor tTypes = OnnxTensor.createTensor(env, types, shape);
            OrtSession.Result r =
                session.run(
                    Map.of("input_ids", tIds, "attention_mask", tMask, "token_type_ids", tTypes))) {
          FloatBuffer hidden =
              ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer();
          for (int i = 0; i < b; i++) {
            int tokens = enc[order[start + i]].getIds().length;
            out[order[start + i]] = meanPool(hidden, i * len * HIDDEN, tokens);
          }
        }
      }
      sum += out[n - 1][0];
    }
    return sum;
  }

  private static LongBuffer directLongs(int n) {
    return ByteBuffer.allocateDirect(n * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
  }

  /**
   * The mean of {@code tokens} vectors of {@link #HIDDEN} floats from {@code offset}, unit length.
   */
  static float[] meanPool(FloatBuffer hidden, int offset, int tokens) {
    double[] sum = new double[HIDDEN];
    for (int t = 0; t < tokens; t++) {
      int base = offset + t * HIDDEN;
      for (int k = 0; k < HIDDEN; k++) {
        sum[k] += hidden.get(base + k);
      }
    }
    double norm = 0;
    for (double v : sum) {
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    float[] v = new float[HIDDEN];
    for (int k = 0; k < HIDDEN; k++) {
      v[k] = (float) (sum[k] / norm);
    }
    return v;
  }

  static HuggingFaceTokenizer newTokenizer(Path file) throws java.io.IOException {
    return HuggingFaceTokenizer.newInstance(
        file,
        Map.of(
            "padding",
            "false",
            "truncation",
            "true",
            "maxLength",
            Integer.toString(MAX_LENGTH),
            "modelMaxLength",
            Integer.toString(MAX_LENGTH)));
  }

  /** The per-row UDF of (c) for images: the model loaded lazily once per JVM. */
  static final class PerRowImage implements UDF1<scala.collection.Seq<Float>, float[]> {
    private static final long serialVersionUID = 1L;
    private final String path;

    PerRowImage(String path) {
      this.path = path;
    }

    @Override
    public float[] call(scala.collection.Seq<Float> pixels) throws Exception {
      float[] x = new float[PIXELS];
      for (int k = 0; k < PIXELS; k++) {
        x[k] = pixels.apply(k);
      }
      OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
      try (OnnxTensor in =
              OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 1, 28, 28});
          OrtSession.Result r = BenchRounds.session(path).run(Map.of("image", in))) {
        return ((float[][]) r.get(0).getValue())[0];
      }
    }
  }

  /** The per-row UDF of (c) for text: model and tokenizer loaded lazily once per JVM. */
  static final class PerRowText implements UDF1<String, float[]> {
    private static final long serialVersionUID = 1L;
    private static volatile HuggingFaceTokenizer tokenizer;
    private final String path;
    private final String tokenizerPath;

    PerRowText(String path, String tokenizerPath) {
      this.path = path;
      this.tokenizerPath = tokenizerPath;
    }

    private OrtSession session() throws Exception {
      if (tokenizer == null) {
        synchronized (PerRowText.class) {
          if (tokenizer == null) {
            tokenizer = newTokenizer(Path.of(tokenizerPath));
          }
        }
      }
      return BenchRounds.session(path);
    }

    @Override
    public float[] call(String text) throws Exception {
      OrtSession s = session();
      Encoding e = tokenizer.encode(text);
      OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
      long[] shape = {1, e.getIds().length};
      try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(e.getIds()), shape);
          OnnxTensor mask =
              OnnxTensor.createTensor(env, LongBuffer.wrap(e.getAttentionMask()), shape);
          OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(e.getTypeIds()), shape);
          OrtSession.Result r =
              s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
        return meanPool(
            ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer(),
            0,
            e.getIds().length);
      }
    }
  }

  /** One variant: its letter for {@code --variants}, its name in the report, its run. */

  /**
   * Runs the benchmark for {@code model} ({@code cnn} or {@code minilm}) with the options of {@link
   * InferenceBench} ({@code --model} already removed).
   */
  static void main(String model, String[] args) throws Exception {
    boolean text = model.equals("minilm");
    int rows = text ? 2_000 : 20_000;
    int udfRows = text ? 500 : 5_000;
    int repeats = 2;
    int batchSize = text ? 32 : 64;
    String only = "aAbBcdef";
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(args[i] + " needs a value, e.g. " + args[i] + " 3.");
      }
      if (args[i].equals("--variants")) {
        only = args[i + 1];
        continue;
      }
      int v = Integer.parseInt(args[i + 1]);
      switch (args[i]) {
        case "--rows" -> rows = v;
        case "--udf-rows" -> udfRows = v;
        case "--repeats" -> repeats = v;
        case "--batch-size" -> batchSize = v;
        default ->
            throw new IllegalArgumentException(
                "Unknown option '"
                    + args[i]
                    + "': valid options are --model, --rows, --udf-rows, --repeats, --batch-size"
                    + " and --variants (letters, e.g. abB).");
      }
    }
    udfRows = Math.min(udfRows, rows);
    PrintStream report = System.out;
    System.setOut(System.err);
    Path work = Files.createTempDirectory("lakeforge-infer-bench-");
    try {
      PlatformConfig config = PlatformConfig.defaults();
      SparkSession spark =
          SessionFactory.getOrCreate(
              config, Platform.resolve(config, work.resolve("home")), Map.of());
      Path onnx;
      Path tokenizer = null;
      if (text) {
        TestModels.MiniLm minilm = TestModels.miniLm(work.resolve("models"), false);
        onnx = minilm.onnx();
        tokenizer = minilm.tokenizer();
        TestModels.register(spark, "minilm", minilm.files());
        Path noopDir = Files.createDirectories(work.resolve("noop"));
        Path noopTokenizer =
            Files.copy(tokenizer, noopDir.resolve(tokenizer.getFileName().toString()));
        TestModels.register(
            spark, "minilm-noop", List.of(TestModels.writeTextNoopModel(noopDir), noopTokenizer));
      } else {
        onnx = TestModels.writeCnnModel(work.resolve("models"));
        TestModels.register(spark, "cnn", onnx);
        TestModels.register(spark, "cnn-noop", TestModels.writeCnnNoopModel(work.resolve("noop")));
      }
      String ref = text ? "minilm/1" : "cnn/1";
      String noopRef = text ? "minilm-noop/1" : "cnn-noop/1";
      ComputeInferenceBench bench =
          new ComputeInferenceBench(spark, text, onnx, tokenizer, batchSize);
      System.err.printf("generating %d rows%n", rows);
      bench.createInput(rows);
      final int n = rows;
      final int u = udfRows;
      List<BenchRounds.Variant> variants = new ArrayList<>();
      variants.add(
          new BenchRounds.Variant(
              'a',
              text ? "(a) ONNX Runtime alone, input order" : "(a) ONNX Runtime alone",
              BenchRounds.unchecked(() -> bench.raw(n, false))));
      if (text) {
        variants.add(
            new BenchRounds.Variant(
                'A',
                "(a′) ONNX Runtime alone, sorted by length in windows",
                BenchRounds.unchecked(() -> bench.raw(n, true))));
      }
      variants.add(
          new BenchRounds.Variant(
              'b',
              text ? "(b) Lakeforge job → Delta, bucketing on" : "(b) Lakeforge job → Delta",
              () -> bench.job(ref, n, true)));
      if (text) {
        variants.add(
            new BenchRounds.Variant(
                'B', "(b′) Lakeforge job → Delta, bucketing off", () -> bench.job(ref, n, false)));
      }
      variants.add(
          new BenchRounds.Variant(
              'c',
              "(c) per-row UDF → Delta",
              BenchRounds.unchecked(() -> bench.udf(u, work.resolve("udf")))));
      variants.add(
          new BenchRounds.Variant(
              'd', "(d) job, no-op model → Delta", () -> bench.job(noopRef, n, true)));
      variants.add(
          new BenchRounds.Variant('e', "(e) scoring → noop sink", () -> bench.noopSink(ref, n)));
      variants.add(
          new BenchRounds.Variant(
              'f', "(f) read → noop sink, no scoring", () -> bench.readOnly(n)));
      final String chosen = only;
      variants.removeIf(v -> chosen.indexOf(v.letter()) < 0);
      Map<Character, Double> m = BenchRounds.medians(variants, repeats, r -> bench.round = r);
      report.printf(
          text
              ? "all-MiniLM-L6-v2 fp32 on %d generated sentences of 5–120 words, max-length 128,"
                  + " mean-pooled and normalized"
              : "Small CNN ([1, 28, 28] → 3 conv layers → 2 dense → 10 classes, ~6M multiply-adds"
                  + " per row, random weights) on %d generated images",
          rows);
      report.printf(
          ", batch %d, 1 ONNX Runtime thread per model, Spark local[%d] ((a): %d threads on one"
              + " session); median of %d rounds after a warm-up; (c) on the first %d rows.%n%n",
          batchSize, bench.slots, bench.slots, repeats, udfRows);
      report.println("| variant | rows/s |");
      report.println("|---|---:|");
      for (BenchRounds.Variant v : variants) {
        report.printf(Locale.ROOT, "| %s | %,.1f |%n", v.name(), m.get(v.letter()));
      }
      report.println();
      BenchRounds.ratio(report, m, 'b', 'a', "%.2f (target ≥ 0.9)");
      BenchRounds.ratio(report, m, 'b', 'A', "%.2f (against the same bucketing outside Spark)");
      BenchRounds.ratio(report, m, 'b', 'c', "%.1f (target ≥ 3)");
      BenchRounds.ratio(report, m, 'b', 'B', "%.2f (bucketing on / off, target ≥ 1.5)");
      BenchRounds.ratio(report, m, 'b', 'd', "%.2f");
      BenchRounds.ratio(
          report, m, 'e', 'a', "%.2f (scoring without the write, against ONNX Runtime alone)");
      bench.notes.forEach((k, v) -> report.printf("- %s: %s%n", k, v));
      for (var k : ModelCache.loaded()) {
        report.printf(
            "- model %s loaded %d time(s) in this JVM (the driver: local mode) over all %d rounds%n",
            k, ModelCache.loads(k), repeats + 1);
      }
      spark.stop();
    } finally {
      BenchFiles.deleteRecursively(work);
    }
  }
}
