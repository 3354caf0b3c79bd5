package dev.lakeforge.inference;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import dev.lakeforge.lakehouse.TableFormat;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A batch inference job ({@code conf/jobs/*.yaml}, run by {@code lakeforge infer}): score a
 * lakehouse table with a registered model into an output table. Read strictly (an unknown field is
 * an error naming it and the valid ones) and validated when built: the model reference parses, the
 * keys are listed, every input mapping is tabular ({@code columns}), tensor ({@code column} +
 * {@code shape}) or text ({@code column} + {@code max-length}), every output mapping is one element
 * ({@code index}), the arg-max ({@code argmax: true}, optionally with {@code labels}), a pooled
 * vector ({@code pool: mean}, optionally {@code normalize}) or the whole vector (none of them), and
 * no output column takes the name of a key or of a column the job adds. Checks that need the model
 * or the table (the signature, the columns) run when the job starts, before any Spark job.
 *
 * @param name the job's identity: its progress and runs are kept under it
 * @param model {@code name/version} or {@code name@alias}
 * @param input the table to score
 * @param inputs by model input name
 * @param outputs by output column name, in order
 * @param output the table the predictions go to
 * @param runtime batch size, threads, device
 */
public record InferenceJobSpec(
    @JsonProperty("name") String name,
    @JsonProperty("model") @JsonSerialize(using = ToStringSerializer.class) ModelRef model,
    @JsonProperty("input") Input input,
    @JsonProperty("inputs") Map<String, InputSpec> inputs,
    @JsonProperty("outputs") Map<String, OutputSpec> outputs,
    @JsonProperty("output") Output output,
    @JsonProperty("runtime") RuntimeOptions runtime) {

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,127}");

  /** Columns the job adds to every output row; outputs may not take these names. */
  public static final List<String> RESERVED_COLUMNS =
      List.of("model_name", "model_version", "run_id", "scored_at");

  public InferenceJobSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new SpecException(
          String.format(
              "field `name` is %s: give the job a name of a-z, 0-9, _ and - starting with a letter"
                  + " (e.g. score_customers).",
              name == null ? "missing" : "'" + name + "', which is invalid"));
    }
    if (model == null) {
      throw new SpecException(
          String.format(
              "job %s: field `model` is missing: add `model: churn@champion` or `model: churn/3`.",
              name));
    }
    if (input == null) {
      throw new SpecException(
          String.format(
              "job %s: field `input` is missing: add `input: {table: ns.table, keys: [id]}`.",
              name));
    }
    if (inputs == null || inputs.isEmpty()) {
      throw new SpecException(
          String.format(
              "job %s: `inputs` is missing or empty: map each model input, e.g. `features: {columns: [a, b],"
                  + " nulls: zero}`.",
              name));
    }
    if (outputs == null || outputs.isEmpty()) {
      throw new SpecException(
          String.format(
              "job %s: `outputs` is missing or empty: add an output column, e.g. `probability: {from:"
                  + " output, index: 1}`.",
              name));
    }
    if (output == null) {
      throw new SpecException(
          String.format(
              "job %s: field `output` is missing: add `output: {table: ns.table}`.", name));
    }
    runtime = runtime == null ? RuntimeOptions.DEFAULTS : runtime;
    inputs = Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
    outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
    for (Map.Entry<String, InputSpec> e : inputs.entrySet()) {
      e.getValue().toMapping(name, e.getKey());
    }
    for (Map.Entry<String, OutputSpec> e : outputs.entrySet()) {
      e.getValue().toMapping(name, e.getKey());
      if (input.keys().contains(e.getKey()) || RESERVED_COLUMNS.contains(e.getKey())) {
        throw new SpecException(
            String.format(
                "job %s: output column `%s` clashes with %s: rename it.",
                name,
                e.getKey(),
                input.keys().contains(e.getKey())
                    ? "the key column of that name"
                    : "a column the job adds to every row ("
                        + String.join(", ", RESERVED_COLUMNS)
                        + ")"));
      }
    }
  }

  @JsonCreator
  static InferenceJobSpec create(
      @JsonProperty("name") String name,
      @JsonProperty("model") String model,
      @JsonProperty("input") Input input,
      @JsonProperty("inputs") Map<String, InputSpec> inputs,
      @JsonProperty("outputs") Map<String, OutputSpec> outputs,
      @JsonProperty("output") Output output,
      @JsonProperty("runtime") RuntimeOptions runtime) {
    return new InferenceJobSpec(
        name,
        model == null ? null : ModelRef.parse(model),
        input,
        inputs,
        outputs,
        output,
        runtime);
  }

  /** Reads and validates the job spec in {@code file}. */
  public static InferenceJobSpec read(Path file) {
    return YamlSpecReader.read(file, InferenceJobSpec.class, "inference job spec");
  }

  /** Parses a job spec; {@code source} names it in messages. */
  public static InferenceJobSpec parse(String yaml, String source) {
    return YamlSpecReader.parse(yaml, InferenceJobSpec.class, source);
  }

  /** The spec's {@code inputs:} and {@code outputs:} as a {@link Scorer}'s mappings. */
  public Mappings mappings() {
    Mappings.Builder b = Mappings.builder();
    inputs.forEach((k, v) -> b.input(k, v.toMapping(name, k)));
    outputs.forEach((k, v) -> b.output(k, v.toMapping(name, k)));
    return b.build();
  }

  /**
   * The table to score.
   *
   * @param table any lakehouse table (Delta or Iceberg)
   * @param version a Delta version or Iceberg snapshot to pin, or empty for the current one
   * @param keys columns that identify an input row; carried into the output
   * @param where a SQL filter on the input, if any
   */
  public record Input(
      @JsonProperty("table") TableName table,
      @JsonProperty("version") Optional<Long> version,
      @JsonProperty("keys") List<String> keys,
      @JsonProperty("where") Optional<String> where) {
    public Input {
      if (table == null) {
        throw new SpecException("input: field `table` is missing: name the table to score.");
      }
      version = version == null ? Optional.empty() : version;
      where = where == null ? Optional.empty() : where;
      if (keys == null || keys.isEmpty()) {
        throw new SpecException(
            String.format(
                "input: `keys` is missing or empty: list the columns of %s that identify a row (they are"
                    + " carried into the output).",
                table));
      }
      keys = List.copyOf(keys);
      Set<String> seen = new HashSet<>();
      for (String k : keys) {
        if (k == null || k.isBlank() || !seen.add(k)) {
          throw new SpecException(
              String.format(
                  "input: `keys` lists %s: list each key column once.",
                  k == null || k.isBlank() ? "an empty name" : "`" + k + "` twice"));
        }
      }
      if (version.isPresent() && version.get() < 0) {
        throw new SpecException(
            String.format(
                "input: version %d of %s is invalid: versions start at 0.", version.get(), table));
      }
      if (where.isPresent() && where.get().isBlank()) {
        throw new SpecException("input: `where` is empty: give a filter or leave the field out.");
      }
    }
  }

  /**
   * The table the predictions go to; created from the job if missing.
   *
   * @param table its name
   * @param format delta (default) or iceberg
   * @param commitRows about how many predictions one commit holds (default {@value
   *     #COMMIT_ROWS_DEFAULT}): the work a killed job loses at most, and the number of passes over
   *     the input (one per commit)
   */
  public record Output(
      @JsonProperty("table") TableName table,
      @JsonProperty("format") TableFormat format,
      @JsonProperty("commit-rows") long commitRows) {
    /** Predictions per commit when the spec does not say. */
    public static final long COMMIT_ROWS_DEFAULT = 1_000_000L;

    public Output {
      if (table == null) {
        throw new SpecException("output: field `table` is missing: name the table to write.");
      }
      format = format == null ? TableFormat.DELTA : format;
      if (commitRows < 1) {
        throw new SpecException(
            String.format(
                "output: `commit-rows` is %d: give a positive number of rows per commit (default"
                    + " %d).",
                commitRows, COMMIT_ROWS_DEFAULT));
      }
    }

    @JsonCreator
    static Output create(
        @JsonProperty("table") TableName table,
        @JsonProperty("format") TableFormat format,
        @JsonProperty("commit-rows") Long commitRows) {
      return new Output(table, format, commitRows == null ? COMMIT_ROWS_DEFAULT : commitRows);
    }
  }

  /**
   * One entry of {@code inputs:} as written in YAML: tabular ({@code columns}, {@code nulls}),
   * tensor ({@code column}, {@code shape}) or text ({@code column}, {@code max-length}, {@code
   * truncation}). A text entry's key is a label for the inputs it fills ({@code input_ids}, {@code
   * attention_mask}, {@code token_type_ids}), e.g. {@code text}. It is checked by the job spec that
   * holds it (through {@link #toMapping}), not in its own constructor: Jackson reports a misspelt
   * field of a map entry only after the entry is built, so a constructor check would hide the typo
   * behind a "missing" error.
   *
   * @param columns numeric feature columns (tabular)
   * @param nulls what a null feature becomes (tabular; default error)
   * @param column the array column (tensor) or string column (text)
   * @param shape one row's shape (tensor)
   * @param maxLength the most tokens per row (text)
   * @param truncation whether longer texts are cut to {@code max-length} (text; default true), else
   *     they fail the job naming the row
   */
  public record InputSpec(
      @JsonProperty("columns") List<String> columns,
      @JsonProperty("nulls") NullPolicy nulls,
      @JsonProperty("column") String column,
      @JsonProperty("shape") List<Long> shape,
      @JsonProperty("max-length") Integer maxLength,
      @JsonProperty("truncation") Boolean truncation) {

    /** Whether text inputs are truncated unless {@code truncation} is given. */
    public static final boolean TRUNCATION_DEFAULT = true;

    /** The mapping this entry describes; an error naming the job and the entry if invalid. */
    InputMapping toMapping(String job, String input) {
      String at = String.format("job %s: inputs.%s: ", job, input);
      try {
        boolean text = maxLength != null || truncation != null;
        if (columns != null && column != null) {
          throw new SpecException(
              "give `columns` (tabular) or `column` with `shape` (tensor), not both.");
        }
        if (columns != null) {
          if (shape != null || text) {
            throw new SpecException(
                String.format(
                    "`%s` belongs to a %s input (`column`), not to `columns`.",
                    shape != null ? "shape" : maxLength != null ? "max-length" : "truncation",
                    shape != null ? "tensor" : "text"));
          }
          return new InputMapping.Tabular(columns, nulls == null ? NullPolicy.ERROR : nulls);
        }
        if (column != null) {
          if (nulls != null) {
            throw new SpecException(
                "`nulls` applies to tabular inputs; a tensor or text input fails on a null value.");
          }
          if (text) {
            if (shape != null) {
              throw new SpecException(
                  "give `shape` (tensor: an array column) or `max-length` (text: a string column), not"
                      + " both.");
            }
            if (maxLength == null) {
              throw new SpecException(
                  String.format(
                      "the text input from column `%s` needs `max-length`: the most tokens per row, e.g."
                          + " 128.",
                      column));
            }
            return new InputMapping.Text(
                column, maxLength, truncation == null ? TRUNCATION_DEFAULT : truncation);
          }
          if (shape == null) {
            throw new SpecException(
                String.format(
                    "the tensor input from column `%s` needs `shape`: the shape of one row, e.g. [1, 8,"
                        + " 8]. A string column is a text input: give `max-length: 128` instead.",
                    column));
          }
          return new InputMapping.ArrayColumn(column, shape);
        }
        throw new SpecException(
            "give `columns: [a, b]` (tabular), `column: c` with `shape: [1, 8, 8]` (tensor), or `column:"
                + " c` with `max-length: 128` (text).");
      } catch (SpecException e) {
        throw new SpecException(at + e.getMessage(), e);
      }
    }
  }

  /**
   * One entry of {@code outputs:} as written in YAML: {@code from} and one of {@code index} (one
   * element), {@code argmax: true} (with optional {@code labels}), {@code pool: mean} (with
   * optional {@code normalize}: a sequence output pooled into one vector per row), or none of them
   * (the whole vector). Checked by the job spec that holds it, like {@link InputSpec}.
   *
   * @param from the model output
   * @param index the element to take
   * @param argmax whether to take the position of the largest element
   * @param labels names of the positions, for {@code argmax}
   * @param pool how to pool a sequence output over its positions
   * @param normalize whether to scale the pooled vector to unit length (default false)
   */
  public record OutputSpec(
      @JsonProperty("from") String from,
      @JsonProperty("index") Integer index,
      @JsonProperty("argmax") Boolean argmax,
      @JsonProperty("labels") List<String> labels,
      @JsonProperty("pool") OutputMapping.Pool pool,
      @JsonProperty("normalize") Boolean normalize) {

    /** The mapping this entry describes; an error naming the job and the column if invalid. */
    OutputMapping toMapping(String job, String column) {
      String at = String.format("job %s: outputs.%s: ", job, column);
      try {
        boolean max = Boolean.TRUE.equals(argmax);
        if (index != null && max) {
          throw new SpecException("give `index` (one element) or `argmax: true`, not both.");
        }
        if (labels != null && !max) {
          throw new SpecException("`labels` name the positions of `argmax: true`; add it.");
        }
        if (pool != null && (index != null || max)) {
          throw new SpecException(
              String.format(
                  "give `pool` (one vector per row) or `%s`, not both.",
                  index != null ? "index" : "argmax"));
        }
        if (normalize != null && pool == null) {
          throw new SpecException("`normalize` applies to a pooled output: add `pool: mean`.");
        }
        if (pool != null) {
          return new OutputMapping.Pooled(from, pool, Boolean.TRUE.equals(normalize));
        }
        if (index != null) {
          return new OutputMapping.Element(from, index);
        }
        return max ? new OutputMapping.Argmax(from, labels) : new OutputMapping.Vector(from);
      } catch (SpecException e) {
        throw new SpecException(at + e.getMessage(), e);
      }
    }
  }
}
