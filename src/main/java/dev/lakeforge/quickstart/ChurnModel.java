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
    double[] means = means(rows, features);
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
        x[i] = r.isNullAt(at) ? means[i] : ((Number) r.get(at)).doubleValue();
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
    OnnxMl.ModelProto proto =
        ((ONNXExportable) model)
            .exportONNXModel(DOMAIN, 1).toBuilder()
                .clearMetadataProps()
                .setDocString("Churn model of the Lakeforge quickstart, trained on " + source + ".")
                .build();
    return new ChurnModel(proto.toByteArray(), features, rows.size(), positives);
  }

  /** The lower-case hex sha256 of {@link #onnx}, as the model registry records it. */
  String sha256() {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(onnx));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  private static double[] means(List<Row> rows, List<String> features) {
    double[] sum = new double[features.size()];
    long[] n = new long[features.size()];
    for (Row r : rows) {
      for (int i = 0; i < features.size(); i++) {
        int at = r.fieldIndex(features.get(i));
        if (!r.isNullAt(at)) {
          sum[i] += ((Number) r.get(at)).doubleValue();
          n[i]++;
        }
      }
    }
    double[] means = new double[features.size()];
    for (int i = 0; i < means.length; i++) {
      means[i] = n[i] == 0 ? 0 : sum[i] / n[i];
    }
    return means;
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
