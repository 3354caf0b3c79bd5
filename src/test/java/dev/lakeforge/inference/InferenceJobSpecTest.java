package dev.lakeforge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.catalog.ModelRef;
import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.lakehouse.TableFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@code lakeforge infer} job spec: read strictly, validated when built. */
class InferenceJobSpecTest {
  private static final String MINIMAL =
      """
      name: score_customers
      model: churn@champion
      input: {table: features.customer_activity, keys: [customer_id]}
      inputs:
        input: {columns: [days_since_last, orders_7d], nulls: zero}
      outputs:
        probability: {from: output, index: 1}
      output: {table: predictions.churn_scores}
      """;

  private static InferenceJobSpec parse(String yaml) {
    return InferenceJobSpec.parse(yaml, "job.yaml");
  }

  @Test
  void theExampleInConfJobsReadsIntoMappings() {
    InferenceJobSpec spec = InferenceJobSpec.read(Path.of("conf/jobs/score_customers.yaml"));

    assertThat(spec.name()).isEqualTo("score_customers");
    assertThat(spec.model()).isEqualTo(ModelRef.parse("churn@champion"));
    assertThat(spec.input().table()).isEqualTo(TableName.parse("features.customer_activity"));
    assertThat(spec.input().keys()).containsExactly("customer_id");
    assertThat(spec.input().where()).contains("feature_ts = timestamp '2026-04-01 00:00:00Z'");
    assertThat(spec.output().format()).isEqualTo(TableFormat.DELTA);
    assertThat(spec.runtime()).isEqualTo(new RuntimeOptions(512, 1, Device.AUTO));
    Mappings m = spec.mappings();
    assertThat(m.inputs())
        .containsExactly(
            java.util.Map.entry(
                "input",
                InputMapping.tabular(
                    NullPolicy.MEAN,
                    "days_since_last_order",
                    "orders_30d",
                    "orders_7d",
                    "products_30d",
                    "spend_30d")));
    assertThat(m.outputs().keySet()).containsExactly("probability", "label");
    assertThat(m.outputs().get("probability")).isEqualTo(OutputMapping.element("output", 0));
    assertThat(m.outputs().get("label"))
        .isEqualTo(OutputMapping.argmax("output", List.of("churns", "stays")));
  }

  @Test
  void defaultsAndATensorInput() {
    InferenceJobSpec spec =
        parse(
            MINIMAL.replace(
                "input: {columns: [days_since_last, orders_7d], nulls: zero}",
                "pixels: {column: image, shape: [1, 8, 8]}"));
    assertThat(spec.runtime()).isEqualTo(RuntimeOptions.DEFAULTS);
    assertThat(spec.input().version()).isEqualTo(Optional.empty());
    assertThat(spec.mappings().inputs().get("pixels"))
        .isEqualTo(InputMapping.tensor("image", 1, 8, 8));
    assertThat(parse(MINIMAL.replace(", nulls: zero", "")).mappings().inputs().get("input"))
        .as("nulls default to error: nothing is filled unless asked")
        .isEqualTo(InputMapping.tabular(NullPolicy.ERROR, "days_since_last", "orders_7d"));
  }

  @Test
  void unknownFieldsAreNamedWithTheValidOnes() {
    assertThatThrownBy(() -> parse(MINIMAL + "schedule: daily\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("job.yaml: unknown field `schedule`")
        .hasMessageContaining(
            "Valid fields here: name, model, input, inputs, outputs, output, runtime");
    assertThatThrownBy(() -> parse(MINIMAL.replace("columns: [", "colums: [")))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("unknown field `colums`")
        .hasMessageContaining("column, columns, max-length, nulls, shape, truncation");
    assertThatThrownBy(() -> parse(MINIMAL.replace("index: 1", "indx: 1")))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("unknown field `indx`")
        .hasMessageContaining("argmax, from, index, labels");
    assertThatThrownBy(() -> parse(MINIMAL + "runtime: {batchsize: 64}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("unknown field `batchsize` in `runtime`")
        .hasMessageContaining("batch-size");
  }

  @Test
  void invalidValuesNameTheFieldAndTheFix() {
    assertThatThrownBy(() -> parse(MINIMAL.replace("churn@champion", "churn@")))
        .hasMessageContaining("Invalid model reference 'churn@'");
    assertThatThrownBy(() -> parse(MINIMAL.replace("nulls: zero", "nulls: avg")))
        .hasMessageContaining("nulls 'avg' is not supported: use zero, mean or error.");
    assertThatThrownBy(() -> parse(MINIMAL.replace(", keys: [customer_id]", "")))
        .hasMessageContaining("input: `keys` is missing or empty");
    assertThatThrownBy(
            () ->
                parse(
                    MINIMAL.replace(
                        "{columns: [days_since_last, orders_7d], nulls: zero}",
                        "{columns: [a], column: image}")))
        .hasMessageContaining(
            "job score_customers: inputs.input: give `columns` (tabular) or `column` with `shape`"
                + " (tensor), not both.");
    assertThatThrownBy(
            () ->
                parse(
                    MINIMAL.replace(
                        "{columns: [days_since_last, orders_7d], nulls: zero}", "{column: image}")))
        .hasMessageContaining("inputs.input: the tensor input from column `image` needs `shape`");
    assertThatThrownBy(() -> parse(MINIMAL.replace("index: 1", "index: 1, argmax: true")))
        .hasMessageContaining(
            "outputs.probability: give `index` (one element) or `argmax: true`, not both.");
    assertThatThrownBy(() -> parse(MINIMAL.replace("probability: {", "customer_id: {")))
        .hasMessageContaining(
            "output column `customer_id` clashes with the key column of that name");
    assertThatThrownBy(() -> parse(MINIMAL.replace("probability: {", "scored_at: {")))
        .hasMessageContaining("output column `scored_at` clashes with a column the job adds");
    assertThatThrownBy(() -> parse(MINIMAL + "runtime: {batch-size: 0}\n"))
        .hasMessageContaining("runtime: batch-size 0 is out of range: use 1 to 1048576");
    assertThatThrownBy(() -> parse(MINIMAL + "runtime: {device: tpu}\n"))
        .hasMessageContaining("device 'tpu' is not supported: use auto, cpu or cuda.");
    assertThatThrownBy(
            () -> parse(MINIMAL.replace("output: {table: predictions.churn_scores}", "")))
        .hasMessageContaining("field `output` is missing");
  }

  @Test
  void aTextInputAPooledOutputAndBucketing() {
    InferenceJobSpec spec =
        parse(
            MINIMAL
                    .replace(
                        "input: {columns: [days_since_last, orders_7d], nulls: zero}",
                        "text: {column: description, max-length: 128}")
                    .replace(
                        "probability: {from: output, index: 1}",
                        "embedding: {from: last_hidden_state, pool: mean, normalize: true}")
                + "runtime: {bucketing: false}\n");
    assertThat(spec.mappings().inputs().get("text"))
        .as("truncation is on unless turned off")
        .isEqualTo(InputMapping.text("description", 128, true));
    assertThat(spec.mappings().outputs().get("embedding"))
        .isEqualTo(OutputMapping.meanPooled("last_hidden_state", true));
    assertThat(spec.runtime()).isEqualTo(RuntimeOptions.DEFAULTS.withBucketing(false));
    assertThat(RuntimeOptions.DEFAULTS.bucketing()).isTrue();
    String text = "input: {columns: [days_since_last, orders_7d], nulls: zero}";
    assertThat(
            parse(MINIMAL.replace(text, "text: {column: d, max-length: 16, truncation: false}"))
                .mappings()
                .inputs()
                .get("text"))
        .isEqualTo(InputMapping.text("d", 16, false));

    assertThatThrownBy(() -> parse(MINIMAL.replace(text, "text: {column: d, truncation: false}")))
        .hasMessageContaining(
            "job score_customers: inputs.text: the text input from column `d` needs `max-length`");
    assertThatThrownBy(
            () -> parse(MINIMAL.replace(text, "text: {column: d, max-length: 16, shape: [16]}")))
        .hasMessageContaining("give `shape` (tensor: an array column) or `max-length` (text");
    assertThatThrownBy(() -> parse(MINIMAL.replace(text, "text: {column: d, max-length: 1}")))
        .hasMessageContaining("has max-length 1: use 2 to 8192 tokens");
    assertThatThrownBy(
            () -> parse(MINIMAL.replace(text, "text: {column: d, max-length: 16, nulls: zero}")))
        .hasMessageContaining("`nulls` applies to tabular inputs");
    assertThatThrownBy(() -> parse(MINIMAL.replace("index: 1", "normalize: true")))
        .hasMessageContaining(
            "outputs.probability: `normalize` applies to a pooled output: add `pool: mean`.");
    assertThatThrownBy(() -> parse(MINIMAL.replace("index: 1", "index: 1, pool: mean")))
        .hasMessageContaining("give `pool` (one vector per row) or `index`, not both.");
    assertThatThrownBy(() -> parse(MINIMAL.replace("index: 1", "pool: max")))
        .hasMessageContaining("pool 'max' is not supported: use mean.");
  }
}
