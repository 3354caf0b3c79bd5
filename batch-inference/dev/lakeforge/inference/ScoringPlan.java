package dev.lakeforge.inference;

import dev.lakeforge.catalog.ModelSignature;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * What the executors need to score a partition, compiled on the driver from the mappings, the
 * model's signature and the input schema: column positions and kinds, null fill values (means
 * included), tensor shapes, output column types. Small and serializable; it holds no catalog and no
 * model.
 *
 * @param model the model version and device
 * @param runtime batch size and threads (device resolved)
 * @param inputs one per model input
 * @param outputs one per output column, in order
 * @param inputWidth how many input columns each output row starts with
 * @param schema the output rows' schema: the input's columns, then the output columns
 * @param text the text input, or null when the model takes none (then {@code inputs} fill every
 *     model input)
 * @param keys the columns that identify a row in row-level errors (empty: its position)
 * @param keyOrdinals their positions in the input rows
 */
record ScoringPlan(
    ModelSpec model,
    RuntimeOptions runtime,
    List<InputPlan> inputs,
    List<OutputPlan> outputs,
    int inputWidth,
    StructType schema,
    TextPlan text,
    List<String> keys,
    int[] keyOrdinals)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The model inputs a text input fills, when the model's signature has them. */
  static final String INPUT_IDS = "input_ids",
      ATTENTION_MASK = "attention_mask",
      TOKEN_TYPE_IDS = "token_type_ids";

  private static final List<String> TEXT_INPUTS =
      List.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS);

  /**
   * The text input: a string column tokenized into {@code input_ids} and, when the model takes
   * them, {@code attention_mask} and {@code token_type_ids}.
   *
   * @param label the mapping's key
   * @param mapping the column, max length and truncation
   * @param ordinal the column's position in the input rows
   * @param tokenizer the name of the tokenizer file among the model version's files
   * @param attentionMask whether the model takes {@code attention_mask}
   * @param tokenTypeIds whether the model takes {@code token_type_ids}
   * @param fixedLength the sequence length the model requires, or -1 when it is dynamic (then each
   *     batch is padded to its longest row)
   */
  record TextPlan(
      String label,
      InputMapping.Text mapping,
      int ordinal,
      String tokenizer,
      boolean attentionMask,
      boolean tokenTypeIds,
      int fixedLength)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** How a row is named in a row-level error: its key values, else its position. */
  String describeRow(org.apache.spark.sql.catalyst.InternalRow row, int partition, long position) {
    if (keys.isEmpty()) {
      return String.format("row %d of partition %d", position, partition);
    }
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      DataType type = schema.fields()[keyOrdinals[i]].dataType();
      Object value =
          org.apache.spark.sql.catalyst.CatalystTypeConverters.convertToScala(
              row.get(keyOrdinals[i], type), type);
      parts.add(keys.get(i) + "=" + value);
    }
    return "the row with " + String.join(", ", parts);
  }

  /** Column kinds a tabular input reads; the element kind of an array column. */
  static final char BYTE = 'b',
      SHORT = 's',
      INT = 'i',
      LONG = 'l',
      FLOAT = 'f',
      DOUBLE = 'd',
      DECIMAL = 'm';

  /**
   * One model input.
   *
   * @param name the model input
   * @param mapping how it is filled
   * @param ordinals the columns' positions in the input rows
   * @param kinds per column (tabular) or of the array's elements
   * @param decimals per tabular column, its decimal type (null for the other kinds)
   * @param fill per tabular column, the value a null becomes (unused for nulls: error)
   * @param rowShape one row's shape: {@code [columns]} or the array mapping's shape
   * @param perRow elements per row
   */
  record InputPlan(
      String name,
      InputMapping mapping,
      int[] ordinals,
      char[] kinds,
      DecimalType[] decimals,
      float[] fill,
      long[] rowShape,
      int perRow)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    boolean tabular() {
      return mapping instanceof InputMapping.Tabular;
    }

    /** The shape of a batch of {@code rows}. */
    long[] shape(int rows) {
      long[] s = new long[rowShape.length + 1];
      s[0] = rows;
      System.arraycopy(rowShape, 0, s, 1, rowShape.length);
      return s;
    }
  }

  /**
   * One output column.
   *
   * @param column its name
   * @param mapping what it takes from which model output
   * @param type its Spark type
   */
  record OutputPlan(String column, OutputMapping mapping, DataType type) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** The names of the model outputs the columns read. */
  Set<String> fetch() {
    return outputs.stream()
        .map(o -> o.mapping().from())
        .collect(Collectors.toCollection(LinkedHashSet::new));
  }

  /**
   * Checks {@code mappings} against the model's signature and the input schema, and compiles them.
   * Every error names the model and the column, input or output concerned, and says how to fix it.
   *
   * @param files the names of the model version's files (a text input finds its tokenizer there)
   * @param keys columns that name a row in row-level errors; may be empty
   * @param means the means of the given columns over the input (called only when a tabular input
   *     says {@code nulls: mean}, after every other check passed)
   */
  static ScoringPlan compile(
      ModelSpec model,
      Optional<ModelSignature> signature,
      Mappings mappings,
      StructType schema,
      RuntimeOptions runtime,
      List<String> files,
      List<String> keys,
      Function<List<String>, Map<String, Double>> means) {
    ModelSignature sig =
        signature.orElseThrow(
            () ->
                fail(
                    model,
                    "its version has no signature (inputs and outputs), so the mappings cannot be"
                        + " checked. Register it again with --signature."));
    List<String> columns = Arrays.asList(schema.fieldNames());
    int[] keyOrdinals = new int[keys.size()];
    for (int i = 0; i < keyOrdinals.length; i++) {
      keyOrdinals[i] = columns.indexOf(keys.get(i));
      if (keyOrdinals[i] < 0) {
        throw fail(
            model,
            String.format(
                "key column `%s` is not a column of the DataFrame (columns: %s).",
                keys.get(i), String.join(", ", columns)));
      }
    }
    TextPlan text = text(model, sig, mappings, schema, files);
    Set<String> byText =
        text == null
            ? Set.of()
            : sig.inputs().stream()
                .map(ModelSignature.Tensor::name)
                .filter(TEXT_INPUTS::contains)
                .collect(Collectors.toSet());
    for (String input : mappings.inputs().keySet()) {
      if (text != null && input.equals(text.label())) {
        continue;
      }
      if (find(sig.inputs(), input).isEmpty()) {
        throw fail(
            model,
            String.format(
                "the model has no input `%s` (its inputs: %s). Map the model's input names.",
                input, describe(sig.inputs())));
      }
    }
    for (ModelSignature.Tensor t : sig.inputs()) {
      if (!byText.contains(t.name()) && !mappings.inputs().containsKey(t.name())) {
        throw fail(
            model,
            String.format(
                "model input `%s` (%s) has no mapping. Map every input (its inputs: %s).",
                t.name(), describe(t), describe(sig.inputs())));
      }
    }
    List<InputPlan> inputs = new ArrayList<>();
    List<String> meanColumns = new ArrayList<>();
    for (ModelSignature.Tensor t : sig.inputs()) {
      if (byText.contains(t.name())) {
        continue;
      }
      InputMapping m = mappings.inputs().get(t.name());
      if (text != null) {
        throw fail(
            model,
            String.format(
                "text input `%s` fills %s, and the model also takes `%s`; a text input cannot be combined"
                    + " with other inputs yet.",
                text.label(), byText, t.name()));
      }
      if (m instanceof InputMapping.Text) {
        throw fail(
            model,
            String.format(
                "input `%s` is mapped as text, but a text input fills the model's %s inputs, and a model"
                    + " has one text input at most.",
                t.name(), String.join(", ", TEXT_INPUTS)));
      }
      if (!t.type().equals("float32")) {
        throw fail(
            model,
            String.format(
                "model input `%s` is %s; tabular and tensor mappings fill float32 tensors. Export the model"
                    + " with a float32 input.",
                t.name(), describe(t)));
      }
      int[] ordinals = new int[m.columns().size()];
      for (int i = 0; i < ordinals.length; i++) {
        String c = m.columns().get(i);
        ordinals[i] = columns.indexOf(c);
        if (ordinals[i] < 0) {
          throw fail(
              model,
              String.format(
                  "input `%s` maps column `%s`, which the DataFrame does not have (columns: %s). Fix the"
                      + " mapping or add the column.",
                  t.name(), c, String.join(", ", columns)));
        }
      }
      inputs.add(
          m instanceof InputMapping.Tabular tab
              ? tabular(model, t, tab, schema, ordinals, meanColumns)
              : array(model, t, (InputMapping.ArrayColumn) m, schema, ordinals[0]));
    }
    List<OutputPlan> outputs = new ArrayList<>();
    for (Map.Entry<String, OutputMapping> e : mappings.outputs().entrySet()) {
      outputs.add(output(model, sig, e.getKey(), e.getValue(), columns));
    }
    if (!meanColumns.isEmpty()) {
      Map<String, Double> found = means.apply(List.copyOf(meanColumns));
      List<InputPlan> filled = new ArrayList<>();
      for (InputPlan p : inputs) {
        filled.add(withMeans(model, p, found));
      }
      inputs = filled;
    }
    StructType out = schema;
    for (OutputPlan o : outputs) {
      out =
          out.add(
              new StructField(
                  o.column(), o.type(), true, org.apache.spark.sql.types.Metadata.empty()));
    }
    return new ScoringPlan(
        model,
        runtime,
        List.copyOf(inputs),
        List.copyOf(outputs),
        schema.size(),
        out,
        text,
        List.copyOf(keys),
        keyOrdinals);
  }

  /**
   * The text input of {@code mappings}, checked against the signature, the schema and the version's
   * files; null when there is none.
   */
  private static TextPlan text(
      ModelSpec model,
      ModelSignature sig,
      Mappings mappings,
      StructType schema,
      List<String> files) {
    List<Map.Entry<String, InputMapping>> texts =
        mappings.inputs().entrySet().stream()
            .filter(e -> e.getValue() instanceof InputMapping.Text)
            .toList();
    if (texts.isEmpty()) {
      return null;
    }
    if (texts.size() > 1) {
      throw fail(
          model,
          String.format(
              "inputs %s are all text inputs; a model takes one text input (it fills %s).",
              texts.stream().map(Map.Entry::getKey).toList(), String.join(", ", TEXT_INPUTS)));
    }
    String label = texts.get(0).getKey();
    InputMapping.Text m = (InputMapping.Text) texts.get(0).getValue();
    find(sig.inputs(), INPUT_IDS)
        .orElseThrow(
            () ->
                fail(
                    model,
                    String.format(
                        "text input `%s` fills input_ids (and attention_mask, token_type_ids when the"
                            + " model takes them), but the model has no input_ids (its inputs: %s).",
                        label, describe(sig.inputs()))));
    int fixed = -1;
    for (String name : TEXT_INPUTS) {
      Optional<ModelSignature.Tensor> found = find(sig.inputs(), name);
      if (found.isEmpty()) {
        continue;
      }
      ModelSignature.Tensor t = found.get();
      if (!t.type().equals("int64") || t.shape().size() != 2) {
        throw fail(
            model,
            String.format(
                "model input `%s` is %s; text input `%s` fills it with int64 [batch, sequence]. Export the"
                    + " model with int64 token inputs.",
                t.name(), describe(t), label));
      }
      checkBatchDimension(model, t);
      long length = t.shape().get(1);
      if (length != -1) {
        if (length < m.maxLength()) {
          throw fail(
              model,
              String.format(
                  "model input `%s` is %s: it takes %d tokens per row, fewer than the text input's"
                      + " max-length %d. Set max-length to at most %d.",
                  t.name(), describe(t), length, m.maxLength(), length));
        }
        fixed = (int) length;
      }
    }
    int ordinal = Arrays.asList(schema.fieldNames()).indexOf(m.column());
    if (ordinal < 0) {
      throw fail(
          model,
          String.format(
              "text input `%s` reads column `%s`, which the DataFrame does not have (columns: %s). Fix the"
                  + " mapping or add the column.",
              label, m.column(), String.join(", ", schema.fieldNames())));
    }
    StructField f = schema.fields()[ordinal];
    if (!f.dataType().equals(DataTypes.StringType)) {
      throw fail(
          model,
          String.format(
              "column `%s` is %s; text input `%s` takes a string column. Cast it (e.g. cast(%s as string)).",
              f.name(), f.dataType().simpleString(), label, f.name()));
    }
    List<String> tokenizers =
        files.contains("tokenizer.json")
            ? List.of("tokenizer.json")
            : files.stream().filter(n -> n.endsWith("tokenizer.json")).toList();
    if (tokenizers.size() != 1) {
      throw fail(
          model,
          String.format(
              "text input `%s` tokenizes with the tokenizer.json stored in the model version, but %s (its"
                  + " files: %s). Register the version with its tokenizer: lakeforge models register %s"
                  + " --file <model> --file tokenizer.json.",
              label,
              tokenizers.isEmpty()
                  ? "the version has none"
                  : "it has several (" + String.join(", ", tokenizers) + ")",
              files,
              model.model()));
    }
    return new TextPlan(
        label,
        m,
        ordinal,
        tokenizers.get(0),
        find(sig.inputs(), ATTENTION_MASK).isPresent(),
        find(sig.inputs(), TOKEN_TYPE_IDS).isPresent(),
        fixed);
  }

  private static InputPlan tabular(
      ModelSpec model,
      ModelSignature.Tensor t,
      InputMapping.Tabular m,
      StructType schema,
      int[] ordinals,
      List<String> meanColumns) {
    List<Long> shape = t.shape();
    int n = m.columns().size();
    if (shape.size() != 2 || (shape.get(1) != -1 && shape.get(1) != n)) {
      throw fail(
          model,
          String.format(
              "model input `%s` is %s, but its tabular mapping gives [batch, %d] (%d columns: %s). Map as many"
                  + " columns as the model has features, in its feature order.",
              t.name(), describe(t), n, n, String.join(", ", m.columns())));
    }
    checkBatchDimension(model, t);
    char[] kinds = new char[n];
    DecimalType[] decimals = new DecimalType[n];
    for (int i = 0; i < n; i++) {
      StructField f = schema.fields()[ordinals[i]];
      kinds[i] = numericKind(f.dataType());
      decimals[i] = f.dataType() instanceof DecimalType d ? d : null;
      if (kinds[i] == 0) {
        throw fail(
            model,
            String.format(
                "column `%s` is %s; tabular input `%s` takes numeric columns (byte, short, int, long, float,"
                    + " double, decimal). Cast it or leave it out of the mapping.",
                f.name(), f.dataType().simpleString(), t.name()));
      }
      if (m.nulls() == NullPolicy.MEAN) {
        meanColumns.add(f.name());
      }
    }
    return new InputPlan(t.name(), m, ordinals, kinds, decimals, new float[n], new long[] {n}, n);
  }

  private static InputPlan array(
      ModelSpec model,
      ModelSignature.Tensor t,
      InputMapping.ArrayColumn m,
      StructType schema,
      int ordinal) {
    StructField f = schema.fields()[ordinal];
    char kind =
        f.dataType() instanceof ArrayType a
            ? (a.elementType().equals(DataTypes.FloatType)
                ? FLOAT
                : a.elementType().equals(DataTypes.DoubleType) ? DOUBLE : 0)
            : 0;
    if (kind == 0) {
      throw fail(
          model,
          String.format(
              "column `%s` is %s; tensor input `%s` takes an array<float> or array<double> column. Cast it"
                  + " (e.g. cast(%s as array<float>)).",
              f.name(), f.dataType().simpleString(), t.name(), f.name()));
    }
    List<Long> shape = t.shape();
    boolean fits = shape.size() == m.shape().size() + 1;
    for (int i = 0; fits && i < m.shape().size(); i++) {
      long d = shape.get(i + 1);
      fits = d == -1 || d == m.shape().get(i);
    }
    if (!fits) {
      throw fail(
          model,
          String.format(
              "shape mismatch: model input `%s` is %s, but the mapping of column `%s` gives [batch, %s]. Set"
                  + " the mapping's shape to the model's (without the batch dimension).",
              t.name(),
              describe(t),
              f.name(),
              m.shape().stream().map(String::valueOf).collect(Collectors.joining(", "))));
    }
    checkBatchDimension(model, t);
    long size = m.size();
    if (size > Integer.MAX_VALUE / 16) {
      throw fail(
          model, String.format("the shape %s of column `%s` is too large.", m.shape(), f.name()));
    }
    long[] rowShape = m.shape().stream().mapToLong(Long::longValue).toArray();
    return new InputPlan(
        t.name(),
        m,
        new int[] {ordinal},
        new char[] {kind},
        new DecimalType[1],
        new float[0],
        rowShape,
        (int) size);
  }

  private static void checkBatchDimension(ModelSpec model, ModelSignature.Tensor t) {
    if (t.shape().get(0) != -1) {
      throw fail(
          model,
          String.format(
              "model input `%s` is %s: its first dimension is fixed, so it cannot take batches. Export the"
                  + " model with a dynamic batch dimension.",
              t.name(), describe(t)));
    }
  }

  private static InputPlan withMeans(ModelSpec model, InputPlan p, Map<String, Double> means) {
    if (!(p.mapping() instanceof InputMapping.Tabular tab) || tab.nulls() != NullPolicy.MEAN) {
      return p;
    }
    float[] fill = new float[tab.columns().size()];
    for (int i = 0; i < fill.length; i++) {
      Double mean = means.get(tab.columns().get(i));
      if (mean == null || mean.isNaN()) {
        throw fail(
            model,
            String.format(
                "column `%s` has no non-null values, so input `%s` cannot fill its nulls with the mean. Use"
                    + " nulls: zero, or leave the column out.",
                tab.columns().get(i), p.name()));
      }
      fill[i] = mean.floatValue();
    }
    return new InputPlan(
        p.name(),
        p.mapping(),
        p.ordinals(),
        p.kinds(),
        p.decimals(),
        fill,
        p.rowShape(),
        p.perRow());
  }

  private static OutputPlan output(
      ModelSpec model, ModelSignature sig, String column, OutputMapping m, List<String> columns) {
    if (columns.contains(column)) {
      throw fail(
          model,
          String.format(
              "output column `%s` is already a column of the DataFrame. Name the output another way or drop"
                  + " the column first.",
              column));
    }
    ModelSignature.Tensor t =
        find(sig.outputs(), m.from())
            .orElseThrow(
                () ->
                    fail(
                        model,
                        String.format(
                            "output column `%s` reads model output `%s`, which the model does not have (its"
                                + " outputs: %s).",
                            column, m.from(), describe(sig.outputs()))));
    long perRow = 1;
    for (long d : t.shape().subList(Math.min(1, t.shape().size()), t.shape().size())) {
      perRow = d == -1 || perRow == -1 ? -1 : perRow * d;
    }
    DataType element =
        switch (t.type()) {
          case "float32" -> DataTypes.FloatType;
          case "float64" -> DataTypes.DoubleType;
          case "int32" -> DataTypes.IntegerType;
          case "int64" -> DataTypes.LongType;
          default ->
              throw fail(
                  model,
                  String.format(
                      "output column `%s` reads model output `%s`, which is %s; only float32, float64, int32"
                          + " and int64 outputs map to columns.",
                      column, t.name(), describe(t)));
        };
    if (m instanceof OutputMapping.Element el) {
      if (perRow != -1 && el.index() >= perRow) {
        throw fail(
            model,
            String.format(
                "output column `%s` takes element %d of model output `%s` (%s), which has %d per row. Use an"
                    + " index from 0 to %d.",
                column, el.index(), t.name(), describe(t), perRow, perRow - 1));
      }
      return new OutputPlan(column, m, element);
    }
    if (m instanceof OutputMapping.Argmax am) {
      if (!am.labels().isEmpty() && perRow != -1 && am.labels().size() != perRow) {
        throw fail(
            model,
            String.format(
                "output column `%s` names %d labels, but model output `%s` (%s) has %d values per row. Give"
                    + " one label per value.",
                column, am.labels().size(), t.name(), describe(t), perRow));
      }
      return new OutputPlan(
          column, m, am.labels().isEmpty() ? DataTypes.IntegerType : DataTypes.StringType);
    }
    if (m instanceof OutputMapping.Pooled && t.shape().size() != 3) {
      throw fail(
          model,
          String.format(
              "output column `%s` pools model output `%s` (%s) over its sequence, but pooling takes a"
                  + " [batch, sequence, width] output. Map it as a vector instead (leave out `pool`).",
              column, t.name(), describe(t)));
    }
    return new OutputPlan(column, m, DataTypes.createArrayType(DataTypes.FloatType, false));
  }

  private static char numericKind(DataType t) {
    if (t.equals(DataTypes.ByteType)) {
      return BYTE;
    } else if (t.equals(DataTypes.ShortType)) {
      return SHORT;
    } else if (t.equals(DataTypes.IntegerType)) {
      return INT;
    } else if (t.equals(DataTypes.LongType)) {
      return LONG;
    } else if (t.equals(DataTypes.FloatType)) {
      return FLOAT;
    } else if (t.equals(DataTypes.DoubleType)) {
      return DOUBLE;
    } else if (t instanceof DecimalType) {
      return DECIMAL;
    }
    return 0;
  }

  private static Optional<ModelSignature.Tensor> find(List<ModelSignature.Tensor> ts, String name) {
    return ts.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  private static String describe(ModelSignature.Tensor t) {
    return t.type() + " " + t.shape();
  }

  private static String describe(List<ModelSignature.Tensor> ts) {
    return ts.stream().map(t -> t.name() + " " + describe(t)).collect(Collectors.joining(", "));
  }

  static InferenceException fail(ModelSpec model, String what) {
    return new InferenceException(String.format("Cannot score with model %s: %s", model, what));
  }
}
