package dev.lakeforge.quickstart;

import static java.util.Objects.requireNonNull;

import ai.onnx.proto.OnnxMl;
import dev.lakeforge.core.SpecException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.spark.sql.Row;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
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
 * The quickstart's churn model: a Tribuo logistic regression trained on the rows of the churn
 * training set and exported to ONNX ({@code input} float {@code [batch, n]} in the order of {@link
 * #features}, {@code output} the probabilities of class {@code 0} then {@code 1}).
 *
 * <p>The features are standardized before training (the shop's spend is in the thousands, its
 * counts in the tens; unscaled, the regression saturates at probabilities of 0 and 1), and the
 * standardization is part of the ONNX graph: {@code (input - mean) / std} in front of Tribuo's
 * nodes, so the model takes the raw columns.
 *
 * <p>The export is reproducible: the same rows in the same order give the same bytes (the trainer's
 * seed is fixed, and Tribuo's provenance, which holds training timestamps, is left out of the ONNX
 * file), so a re-run of the quickstart can tell by the sha256 that the model did not change.
 *
 * @param onnx the ONNX model
 * @param features the model's input columns, in its order
 * @param examples training rows
 * @param positives training rows with label 1
 */
record ChurnModel(byte[] onnx, List<String> features, long examples, long positives) {
  /** The ONNX domain the model is exported under. */
  static final String DOMAIN = "dev.lakeforge.quickstart";

  /** The ONNX input Tribuo's export reads the features from. */
  static final String INPUT = "input";

  ChurnModel {
    requireNonNull(onnx, "onnx is null");
    features = List.copyOf(features);
  }

  /**
   * Trains on {@code rows}, which hold the {@code features} and an int {@code label} (0 or 1);
   * {@code source} names the rows in errors. A null feature value is replaced by the mean of that
   * column over the rows (what {@code nulls: mean} does when scoring). The features must be listed
   * in the model's order (sorted by name), so that the scoring job's column list is the model's.
   */
  static ChurnModel train(List<Row> rows, List<String> features, String label, String source) {
    List<String> sorted = features.stream().sorted().toList();
    if (!sorted.equals(features)) {
      throw new SpecException(
          String.format(
              "%s: the features %s are not in the model's order: list them sorted by name, %s"
                  + " (Tribuo orders its ONNX input by feature name).",
              source, features, sorted));
    }
    double[] means = new double[features.size()];
    double[] stds = new double[features.size()];
    moments(rows, features, means, stds);
    LabelFactory factory = new LabelFactory();
    List<Example<Label>> examples = new ArrayList<>(rows.size());
    String[] names = features.toArray(String[]::new);
    long positives = 0;
    for (Row r : rows) {
      int y = r.getInt(r.fieldIndex(label));
      positives += y;
      double[] x = new double[names.length];
      for (int i = 0; i < names.length; i++) {
        int at = r.fieldIndex(names[i]);
        double v = r.isNullAt(at) ? means[i] : ((Number) r.get(at)).doubleValue();
        x[i] = (v - means[i]) / stds[i];
      }
      examples.add(new ArrayExample<>(new Label(String.valueOf(y)), names, x));
    }
    if (positives == 0 || positives == rows.size()) {
      throw new SpecException(
          String.format(
              "%s: all %d rows have label %d, so there is nothing to learn: run the quickstart with"
                  + " more --rows (e.g. the default 100000).",
              source, rows.size(), positives == 0 ? 0 : 1));
    }
    MutableDataset<Label> data =
        new MutableDataset<>(
            new ListDataSource<>(
                examples, factory, new SimpleDataSourceProvenance(source, factory)));
    Model<Label> model = new LogisticRegressionTrainer().train(data);
    checkOrder(model, features);
    OnnxMl.ModelProto exported = ((ONNXExportable) model).exportONNXModel(DOMAIN, 1);
    OnnxMl.ModelProto proto =
        exported.toBuilder()
            .clearMetadataProps()
            .setDocString("Churn model of the Lakeforge quickstart, trained on " + source + ".")
            .setGraph(standardized(exported.getGraph(), means, stds))
            .build();
    return new ChurnModel(proto.toByteArray(), features, rows.size(), positives);
  }

  /**
   * {@code graph} with {@code (input - mean) / std} in front: Tribuo's nodes read the standardized
   * tensor instead of {@value #INPUT}.
   */
  private static OnnxMl.GraphProto standardized(
      OnnxMl.GraphProto graph, double[] means, double[] stds) {
    String scaled = "lakeforge_standardized_input";
    OnnxMl.GraphProto.Builder b = graph.toBuilder().clearNode();
    b.addInitializer(floats("lakeforge_feature_mean", means));
    b.addInitializer(floats("lakeforge_feature_std", stds));
    b.addNode(
        OnnxMl.NodeProto.newBuilder()
            .setOpType("Sub")
            .setName("lakeforge_center")
            .addInput(INPUT)
            .addInput("lakeforge_feature_mean")
            .addOutput("lakeforge_centered_input"));
    b.addNode(
        OnnxMl.NodeProto.newBuilder()
            .setOpType("Div")
            .setName("lakeforge_scale")
            .addInput("lakeforge_centered_input")
            .addInput("lakeforge_feature_std")
            .addOutput(scaled));
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      OnnxMl.NodeProto.Builder node = n.toBuilder();
      for (int i = 0; i < node.getInputCount(); i++) {
        if (node.getInput(i).equals(INPUT)) {
          node.setInput(i, scaled);
        }
      }
      b.addNode(node);
    }
    return b.build();
  }

  private static OnnxMl.TensorProto floats(String name, double[] values) {
    OnnxMl.TensorProto.Builder t =
        OnnxMl.TensorProto.newBuilder()
            .setName(name)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
            .addDims(values.length);
    for (double v : values) {
      t.addFloatData((float) v);
    }
    return t.build();
  }

  /** The lower-case hex sha256 of {@link #onnx}, as the model registry records it. */
  String sha256() {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(onnx));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  /**
   * The mean and standard deviation of each feature over the non-null values of {@code rows} (a
   * constant or empty column gets a deviation of 1, so it is only centered).
   */
  private static void moments(
      List<Row> rows, List<String> features, double[] means, double[] stds) {
    for (int i = 0; i < features.size(); i++) {
      double sum = 0;
      double squares = 0;
      long n = 0;
      for (Row r : rows) {
        int at = r.fieldIndex(features.get(i));
        if (!r.isNullAt(at)) {
          double v = ((Number) r.get(at)).doubleValue();
          sum += v;
          squares += v * v;
          n++;
        }
      }
      means[i] = n == 0 ? 0 : sum / n;
      double variance = n == 0 ? 0 : squares / n - means[i] * means[i];
      stds[i] = variance > 1e-12 ? Math.sqrt(variance) : 1;
    }
  }

  /**
   * The scoring job reads the ONNX input by position and the output's class 0 as the churn
   * probability: both orders are Tribuo's, so they are checked rather than assumed.
   */
  private static void checkOrder(Model<Label> model, List<String> features) {
    ImmutableFeatureMap fm = model.getFeatureIDMap();
    List<String> order = new ArrayList<>();
    for (int id = 0; id < fm.size(); id++) {
      order.add(fm.get(id).getName());
    }
    ImmutableOutputInfo<Label> classes = model.getOutputIDInfo();
    if (!order.equals(features)
        || classes.getID(new Label("0")) != 0
        || classes.getID(new Label("1")) != 1) {
      throw new IllegalStateException(
          String.format(
              "Tribuo ordered the churn model's input as %s (expected %s) and its classes as"
                  + " 0 -> %d, 1 -> %d (expected 0 -> 0, 1 -> 1)",
              order, features, classes.getID(new Label("0")), classes.getID(new Label("1"))));
    }
  }
}
