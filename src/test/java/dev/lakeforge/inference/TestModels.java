package dev.lakeforge.inference;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.lakeforge.catalog.CatalogDatabase;
import dev.lakeforge.catalog.Identity;
import dev.lakeforge.catalog.ModelFlavor;
import dev.lakeforge.catalog.ModelRegistry;
import dev.lakeforge.catalog.ModelVersion;
import dev.lakeforge.core.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.ONNXExportable;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/**
 * Real models for the inference tests: a logistic regression trained with Tribuo on generated
 * customer activity and exported to ONNX, and a tiny image classifier (flatten, dense, softmax)
 * with a {@code [batch, 1, 4, 4]} input written as an ONNX graph with the protobuf classes Tribuo
 * ships. {@link #run} scores rows with ONNX Runtime directly, outside Spark: the reference the
 * scorer's predictions must equal.
 */
final class TestModels {
  private TestModels() {}

  /** The generated customers the churn model scores: a key, its three features and a country. */
  static final org.apache.spark.sql.types.StructType CUSTOMERS =
      new org.apache.spark.sql.types.StructType()
          .add("customer_id", org.apache.spark.sql.types.DataTypes.LongType, false)
          .add("orders_7d", org.apache.spark.sql.types.DataTypes.IntegerType)
          .add("spend_30d", org.apache.spark.sql.types.DataTypes.DoubleType)
          .add("days_since_last", org.apache.spark.sql.types.DataTypes.LongType)
          .add("country", org.apache.spark.sql.types.DataTypes.StringType);

  /**
   * A trained churn model: its ONNX file, its feature names in the model's order, and the output
   * position of each class.
   */
  record Churn(Path onnx, List<String> features, List<String> labels) {
    int index(String label) {
      return labels.indexOf(label);
    }
  }

  /** Trains a logistic regression on {@code rows} generated customers and exports it. */
  static Churn trainChurn(Path dir, int rows) throws IOException {
    LabelFactory labels = new LabelFactory();
    Random random = new Random(7);
    List<Example<Label>> examples = new ArrayList<>();
    String[] names = {"orders_7d", "spend_30d", "days_since_last"};
    for (int i = 0; i < rows; i++) {
      double orders = random.nextInt(10);
      double spend = random.nextDouble() * 50;
      double days = random.nextInt(60);
      boolean churns = days / 60 - orders / 10 + random.nextGaussian() * 0.2 > 0.1;
      examples.add(
          new ArrayExample<>(
              new Label(churns ? "churns" : "stays"), names, new double[] {orders, spend, days}));
    }
    MutableDataset<Label> data =
        new MutableDataset<>(
            new ListDataSource<>(
                examples, labels, new SimpleDataSourceProvenance("generated customers", labels)));
    Model<Label> model = new LogisticRegressionTrainer().train(data);
    Path onnx = Files.createDirectories(dir).resolve("churn.onnx");
    try {
      ((ONNXExportable) model).saveONNXModel("dev.lakeforge.test", 1, onnx);
    } catch (Exception e) {
      throw new IOException("ONNX export failed", e);
    }
    ImmutableFeatureMap fm = model.getFeatureIDMap();
    List<String> features = new ArrayList<>();
    for (int id = 0; id < fm.size(); id++) {
      features.add(fm.get(id).getName());
    }
    List<String> classes = new ArrayList<>();
    for (int id = 0; id < model.getOutputIDInfo().size(); id++) {
      classes.add(model.getOutputIDInfo().getOutput(id).getLabel());
    }
    return new Churn(onnx, List.copyOf(features), List.copyOf(classes));
  }

  /** The flattened weights of {@link #writeImageModel}: deterministic, not trained. */
  static float[] imageWeights(int size) {
    Random random = new Random(11);
    float[] w = new float[size];
    for (int i = 0; i < size; i++) {
      w[i] = (float) random.nextGaussian();
    }
    return w;
  }

  /**
   * Writes an ONNX model {@code image} float [batch, 1, 4, 4] → Flatten → Gemm (16 → 3) → Softmax →
   * {@code probs} float [batch, 3].
   */
  static Path writeImageModel(Path dir) throws IOException {
    float[] w = imageWeights(16 * 3 + 3);
    OnnxMl.TensorProto.Builder weights =
        OnnxMl.TensorProto.newBuilder()
            .setName("W")
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
            .addDims(16)
            .addDims(3);
    for (int i = 0; i < 48; i++) {
      weights.addFloatData(w[i]);
    }
    OnnxMl.TensorProto.Builder bias =
        OnnxMl.TensorProto.newBuilder()
            .setName("b")
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
            .addDims(3);
    for (int i = 48; i < 51; i++) {
      bias.addFloatData(w[i]);
    }
    OnnxMl.GraphProto graph =
        OnnxMl.GraphProto.newBuilder()
            .setName("tiny-image")
            .addInput(floatValue("image", -1, 1, 4, 4))
            .addOutput(floatValue("probs", -1, 3))
            .addInitializer(weights)
            .addInitializer(bias)
            .addNode(node("Flatten", List.of("image"), "flat", Map.of("axis", 1L)))
            .addNode(node("Gemm", List.of("flat", "W", "b"), "logits", Map.of()))
            .addNode(node("Softmax", List.of("logits"), "probs", Map.of("axis", 1L)))
            .build();
    return write(dir, "image.onnx", graph);
  }

  /**
   * A model that does no work: {@code input} float [batch, features] → {@code output} = its first
   * {@code outputs} columns (one Slice). It stands in for a model when measuring the pipeline
   * around it.
   */
  static Path writeNoopModel(Path dir, int features, int outputs) throws IOException {
    OnnxMl.GraphProto graph =
        OnnxMl.GraphProto.newBuilder()
            .setName("noop")
            .addInput(floatValue("input", -1, features))
            .addOutput(floatValue("output", -1, outputs))
            .addInitializer(longs("starts", 0))
            .addInitializer(longs("ends", outputs))
            .addInitializer(longs("axes", 1))
            .addNode(node("Slice", List.of("input", "starts", "ends", "axes"), "output", Map.of()))
            .build();
    return write(dir, "noop.onnx", graph);
  }

  /**
   * A small CNN for throughput work, with fixed-seed random weights (He-scaled, not trained):
   * {@code image} float [batch, 1, 28, 28] → Conv 3×3 (32) → Relu → MaxPool 2 → Conv 3×3 (64) →
   * Relu → MaxPool 2 → Conv 3×3 (64) → Relu → Flatten → Gemm (3136 → 128) → Relu → Gemm (128 → 10)
   * → Softmax → {@code probs} float [batch, 10]; about 6M multiply-adds per row.
   */
  static Path writeCnnModel(Path dir) throws IOException {
    Random random = new Random(23);
    OnnxMl.GraphProto.Builder g =
        OnnxMl.GraphProto.newBuilder()
            .setName("bench-cnn")
            .addInput(floatValue("image", -1, 1, 28, 28))
            .addOutput(floatValue("probs", -1, 10));
    String x = "image";
    int channels = 1;
    int[] widths = {32, 64, 64};
    for (int layer = 0; layer < widths.length; layer++) {
      int out = widths[layer];
      String w = "conv" + layer + "_w", b = "conv" + layer + "_b";
      g.addInitializer(randomFloats(random, w, channels * 9, out, channels, 3, 3));
      g.addInitializer(randomFloats(random, b, 0, out));
      g.addNode(
          convNode(
              "Conv", List.of(x, w, b), "conv" + layer, Map.of("pads", new long[] {1, 1, 1, 1})));
      g.addNode(convNode("Relu", List.of("conv" + layer), "relu" + layer, Map.of()));
      x = "relu" + layer;
      if (layer < 2) {
        g.addNode(
            convNode(
                "MaxPool",
                List.of(x),
                "pool" + layer,
                Map.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2})));
        x = "pool" + layer;
      }
      channels = out;
    }
    g.addNode(node("Flatten", List.of(x), "flat", Map.of("axis", 1L)));
    g.addInitializer(randomFloats(random, "fc0_w", 64 * 7 * 7, 64 * 7 * 7, 128));
    g.addInitializer(randomFloats(random, "fc0_b", 0, 128));
    g.addNode(convNode("Gemm", List.of("flat", "fc0_w", "fc0_b"), "fc0", Map.of()));
    g.addNode(convNode("Relu", List.of("fc0"), "hidden", Map.of()));
    g.addInitializer(randomFloats(random, "fc1_w", 128, 128, 10));
    g.addInitializer(randomFloats(random, "fc1_b", 0, 10));
    g.addNode(convNode("Gemm", List.of("hidden", "fc1_w", "fc1_b"), "logits", Map.of()));
    g.addNode(node("Softmax", List.of("logits"), "probs", Map.of("axis", 1L)));
    return write(dir, "cnn.onnx", g.build());
  }

  /**
   * The no-op twin of {@link #writeCnnModel}: {@code image} float [batch, 1, 28, 28] → Flatten →
   * its first 10 values (one Slice) → {@code probs} float [batch, 10].
   */
  static Path writeCnnNoopModel(Path dir) throws IOException {
    OnnxMl.GraphProto graph =
        OnnxMl.GraphProto.newBuilder()
            .setName("bench-cnn-noop")
            .addInput(floatValue("image", -1, 1, 28, 28))
            .addOutput(floatValue("probs", -1, 10))
            .addInitializer(longs("starts", 0))
            .addInitializer(longs("ends", 10))
            .addInitializer(longs("axes", 1))
            .addNode(node("Flatten", List.of("image"), "flat", Map.of("axis", 1L)))
            .addNode(node("Slice", List.of("flat", "starts", "ends", "axes"), "probs", Map.of()))
            .build();
    return write(dir, "cnn-noop.onnx", graph);
  }

  /**
   * A no-op model with MiniLM's signature: {@code input_ids}, {@code attention_mask} and {@code
   * token_type_ids} int64 [batch, sequence] → {@code last_hidden_state} float [batch, sequence,
   * 384] = each token's id plus a fixed vector (Cast, Unsqueeze, Add): the pipeline's cost around a
   * text model, outputs of the same shape.
   */
  static Path writeTextNoopModel(Path dir) throws IOException {
    OnnxMl.TensorProto.Builder offsets =
        OnnxMl.TensorProto.newBuilder()
            .setName("offsets")
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
            .addDims(384);
    for (int k = 0; k < 384; k++) {
      offsets.addFloatData(1 + k / 384f);
    }
    OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("bench-text-noop");
    for (String input : List.of("input_ids", "attention_mask", "token_type_ids")) {
      g.addInput(tokenValue(input, OnnxMl.TensorProto.DataType.INT64, "batch", "sequence"));
    }
    OnnxMl.NodeProto cast =
        node(
            "Cast",
            List.of("input_ids"),
            "ids",
            Map.of("to", (long) OnnxMl.TensorProto.DataType.FLOAT.getNumber()));
    OnnxMl.GraphProto graph =
        g.addOutput(
                tokenValue(
                    "last_hidden_state",
                    OnnxMl.TensorProto.DataType.FLOAT,
                    "batch",
                    "sequence",
                    "384"))
            .addInitializer(longs("unsqueeze_axes", 2))
            .addInitializer(offsets)
            .addNode(cast)
            .addNode(node("Unsqueeze", List.of("ids", "unsqueeze_axes"), "ids3", Map.of()))
            .addNode(node("Add", List.of("ids3", "offsets"), "last_hidden_state", Map.of()))
            .build();
    return write(dir, "text-noop.onnx", graph);
  }

  /** {@code dims} scaled by sqrt(2 / fanIn) (He), or zeros when {@code fanIn} is 0. */
  private static OnnxMl.TensorProto randomFloats(
      Random random, String name, int fanIn, long... dims) {
    OnnxMl.TensorProto.Builder t =
        OnnxMl.TensorProto.newBuilder()
            .setName(name)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber());
    long size = 1;
    for (long d : dims) {
      t.addDims(d);
      size *= d;
    }
    double scale = fanIn == 0 ? 0 : Math.sqrt(2.0 / fanIn);
    for (long i = 0; i < size; i++) {
      t.addFloatData((float) (random.nextGaussian() * scale));
    }
    return t.build();
  }

  /** A tensor value whose dimensions are named (a symbolic name) or numbers, e.g. "batch", "8". */
  private static OnnxMl.ValueInfoProto tokenValue(
      String name, OnnxMl.TensorProto.DataType type, String... dims) {
    OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
    for (String d : dims) {
      shape.addDim(
          d.chars().allMatch(Character::isDigit)
              ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(Long.parseLong(d))
              : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(d));
    }
    return OnnxMl.ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            OnnxMl.TypeProto.newBuilder()
                .setTensorType(
                    OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(type.getNumber())
                        .setShape(shape)))
        .build();
  }

  /**
   * A node named after its output (so repeated ops have distinct names) whose attributes are lists
   * of integers (kernel shapes, pads, strides).
   */
  private static OnnxMl.NodeProto convNode(
      String op, List<String> inputs, String output, Map<String, long[]> attributes) {
    OnnxMl.NodeProto.Builder n =
        OnnxMl.NodeProto.newBuilder()
            .setOpType(op)
            .setName(output)
            .addAllInput(inputs)
            .addOutput(output);
    attributes.forEach(
        (k, v) -> {
          OnnxMl.AttributeProto.Builder a =
              OnnxMl.AttributeProto.newBuilder()
                  .setName(k)
                  .setType(OnnxMl.AttributeProto.AttributeType.INTS);
          for (long i : v) {
            a.addInts(i);
          }
          n.addAttribute(a);
        });
    return n.build();
  }

  /** Writes {@code graph} as an ONNX model (IR 8, opset 13) to {@code dir/file}. */
  private static Path write(Path dir, String file, OnnxMl.GraphProto graph) throws IOException {
    OnnxMl.ModelProto model =
        OnnxMl.ModelProto.newBuilder()
            .setIrVersion(8)
            .setProducerName("lakeforge-tests")
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .setGraph(graph)
            .build();
    return Files.write(Files.createDirectories(dir).resolve(file), model.toByteArray());
  }

  private static OnnxMl.TensorProto longs(String name, long value) {
    return OnnxMl.TensorProto.newBuilder()
        .setName(name)
        .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber())
        .addDims(1)
        .addInt64Data(value)
        .build();
  }

  private static OnnxMl.ValueInfoProto floatValue(String name, long... dims) {
    String[] named = new String[dims.length];
    for (int i = 0; i < dims.length; i++) {
      named[i] = dims[i] < 0 ? "batch" : Long.toString(dims[i]);
    }
    return tokenValue(name, OnnxMl.TensorProto.DataType.FLOAT, named);
  }

  private static OnnxMl.NodeProto node(
      String op, List<String> inputs, String output, Map<String, Long> attributes) {
    OnnxMl.NodeProto.Builder n =
        OnnxMl.NodeProto.newBuilder()
            .setOpType(op)
            .setName(op)
            .addAllInput(inputs)
            .addOutput(output);
    attributes.forEach(
        (k, v) ->
            n.addAttribute(
                OnnxMl.AttributeProto.newBuilder()
                    .setName(k)
                    .setType(OnnxMl.AttributeProto.AttributeType.INT)
                    .setI(v)));
    return n.build();
  }

  /** Scores {@code rows} (each row's values, row-major) with ONNX Runtime directly. */
  static float[][] run(Path onnx, String input, String output, float[][] rows, long... rowShape)
      throws OrtException {
    OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
    int perRow = rows.length == 0 ? 0 : rows[0].length;
    java.nio.FloatBuffer buf = java.nio.FloatBuffer.allocate(rows.length * perRow);
    for (float[] r : rows) {
      buf.put(r);
    }
    buf.flip();
    long[] shape = new long[rowShape.length + 1];
    shape[0] = rows.length;
    System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
    try (OrtSession session = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
        OnnxTensor in = OnnxTensor.createTensor(env, buf, shape);
        OrtSession.Result result = session.run(Map.of(input, in))) {
      return (float[][]) result.get(output).orElseThrow().getValue();
    }
  }

  /** The model registry of {@code spark}'s Lakeforge home. */
  static ModelRegistry registry(SparkSession spark) {
    Platform p = Platform.of(spark);
    return new ModelRegistry(CatalogDatabase.of(p), Path.of(p.modelStore()));
  }

  /** Registers {@code onnx} as the next version of {@code name}, by the test's own identity. */
  static ModelVersion register(SparkSession spark, String name, Path onnx) {
    return registry(spark)
        .register(
            new ModelRegistry.Registration(
                name, onnx, ModelFlavor.ONNX, Optional.empty(), Optional.empty(), Map.of()),
            Identity.current());
  }

  /**
   * all-MiniLM-L6-v2 from its Maven package on the test classpath, copied into {@code dir}: the
   * int8 model (23 MB) or the fp32 one (90 MB), and their tokenizer.
   *
   * @param onnx the model file
   * @param tokenizer its tokenizer.json
   */
  record MiniLm(Path onnx, Path tokenizer) {
    List<Path> files() {
      return List.of(onnx, tokenizer);
    }
  }

  static MiniLm miniLm(Path dir, boolean quantized) throws IOException {
    String base = quantized ? "all-minilm-l6-v2-q" : "all-minilm-l6-v2";
    Path folder = Files.createDirectories(dir.resolve(base));
    return new MiniLm(resource(base + ".onnx", folder), resource(base + "-tokenizer.json", folder));
  }

  private static Path resource(String name, Path folder) throws IOException {
    Path file = folder.resolve(name);
    if (!Files.exists(file)) {
      try (var in = TestModels.class.getResourceAsStream("/" + name)) {
        if (in == null) {
          throw new IOException(
              name + " is not on the test classpath (the langchain4j MiniLM packages)");
        }
        Files.copy(in, file);
      }
    }
    return file;
  }

  /**
   * Sentence embeddings computed outside Spark, one sentence per ONNX Runtime call (no padding):
   * tokenized with DJL's HuggingFace tokenizer (special tokens, {@code maxLength} with truncation),
   * {@code last_hidden_state} averaged over the tokens and scaled to unit length.
   */
  static float[][] embed(MiniLm model, List<String> texts, int maxLength) throws Exception {
    OrtEnvironment env = dev.lakeforge.catalog.OnnxEnvironment.get();
    Map<String, String> options =
        Map.of(
            "padding",
            "false",
            "truncation",
            "true",
            "maxLength",
            Integer.toString(maxLength),
            "modelMaxLength",
            Integer.toString(maxLength));
    float[][] out = new float[texts.size()][];
    try (ai.djl.huggingface.tokenizers.HuggingFaceTokenizer tokenizer =
            ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(
                model.tokenizer(), options);
        OrtSession session =
            env.createSession(model.onnx().toString(), new OrtSession.SessionOptions())) {
      for (int i = 0; i < texts.size(); i++) {
        ai.djl.huggingface.tokenizers.Encoding e = tokenizer.encode(texts.get(i));
        long[] shape = {1, e.getIds().length};
        try (OnnxTensor ids =
                OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(e.getIds()), shape);
            OnnxTensor mask =
                OnnxTensor.createTensor(
                    env, java.nio.LongBuffer.wrap(e.getAttentionMask()), shape);
            OnnxTensor types =
                OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(e.getTypeIds()), shape);
            OrtSession.Result result =
                session.run(
                    Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
          float[][] hidden =
              ((float[][][]) result.get("last_hidden_state").orElseThrow().getValue())[0];
          double[] sum = new double[hidden[0].length];
          for (float[] token : hidden) {
            for (int k = 0; k < sum.length; k++) {
              sum[k] += token[k];
            }
          }
          double norm = 0;
          for (int k = 0; k < sum.length; k++) {
            sum[k] /= hidden.length;
            norm += sum[k] * sum[k];
          }
          float[] v = new float[sum.length];
          for (int k = 0; k < v.length; k++) {
            v[k] = (float) (sum[k] / Math.sqrt(norm));
          }
          out[i] = v;
        }
      }
    }
    return out;
  }

  /** Registers {@code files} as the next version of {@code name} (the model file inferred). */
  static ModelVersion register(SparkSession spark, String name, List<Path> files) {
    return registry(spark)
        .register(
            new ModelRegistry.Registration(
                name,
                files,
                Optional.empty(),
                ModelFlavor.ONNX,
                Optional.empty(),
                Optional.empty(),
                Map.of()),
            Identity.current());
  }
}
