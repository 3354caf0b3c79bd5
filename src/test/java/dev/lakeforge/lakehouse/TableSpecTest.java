package dev.lakeforge.lakehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lakeforge.core.SpecException;
import dev.lakeforge.core.TableName;
import dev.lakeforge.core.YamlSpecReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Table specs are validated when parsed: every mistake names the file, the field and the fix. No
 * Spark needed.
 */
class TableSpecTest {
  private static final String GOOD =
      """
      name: shop.orders
      format: delta
      columns:
        - {name: order_id, type: bigint, nullable: false}
        - {name: amount, type: 'decimal(12,2)'}
        - {name: order_date, type: date}
        - {name: tags, type: 'array<string>'}
      primary-key: [order_id]
      partition-by: [order_date]
      retention: {days: 3, versions: 5}
      """;

  private static TableSpec parse(String yaml) {
    return YamlSpecReader.parse(yaml, TableSpec.class, "spec.yaml");
  }

  @Test
  void aGoodSpecParsesWithDefaults() {
    TableSpec s = parse(GOOD);
    assertThat(s.name()).isEqualTo(TableName.parse("shop.orders"));
    assertThat(s.format()).isEqualTo(TableFormat.DELTA);
    assertThat(s.schema().simpleString())
        .isEqualTo(
            "struct<order_id:bigint,amount:decimal(12,2),order_date:date,tags:array<string>>");
    assertThat(s.schema().apply("order_id").nullable()).isFalse();
    assertThat(s.retention()).isEqualTo(new Retention(3, 5));
    assertThat(s.tableProperties())
        .containsEntry("lakeforge.primary-key", "order_id")
        .containsEntry("lakeforge.retention.days", "3")
        .containsEntry("lakeforge.retention.versions", "5");
    assertThat(parse(GOOD.replace("retention: {days: 3, versions: 5}\n", "")).retention())
        .isEqualTo(new Retention(7, 10));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          top-level typo            | primary-key: [order_id]        | primary-keys: [order_id]       | unknown field `primary-keys`, Valid fields here: name, format
          nested typo               | nullable: false}               | nulable: false}                | unknown field `nulable` in `columns[0]`, Valid fields here: name, type, nullable, comment
          wrong type                | {days: 3, versions: 5}         | {days: three, versions: 5}     | `retention.days`, three
          unknown format            | format: delta                  | format: hudi                   | hudi, delta, iceberg
          bad type                  | type: date                     | type: dat                      | `order_date`, dat
          key not a column          | primary-key: [order_id]        | primary-key: [id]              | primary-key names column `id`, not in `columns`
          nullable key              | bigint, nullable: false}       | bigint}                        | primary-key column `order_id` is nullable, nullable: false
          complex partition         | partition-by: [order_date]     | partition-by: [tags]           | partition-by column `tags`
          bad name                  | name: shop.orders              | name: orders                   | 'orders', namespace.table
          reserved namespace        | name: shop.orders              | name: lakeforge.orders         | namespace 'lakeforge' is reserved
          negative retention        | {days: 3, versions: 5}         | {days: -1, versions: 5}        | retention.days is -1
          reserved property         | retention:                     | 'properties: {lakeforge.x: y}\nretention:' | reserved prefix
          """)
  void mistakesAreNamed(String what, String from, String to, String expected) {
    String yaml = GOOD.replace(from, to.replace("\\n", "\n").replaceAll("^'|'$", ""));
    assertThat(yaml).as("the test's replacement applies").isNotEqualTo(GOOD);
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith("spec.yaml")
        .hasMessageContainingAll(expected.split(", "));
  }

  @Test
  void icebergRefusesTypesItDoesNotHave() {
    String yaml =
        GOOD.replace("format: delta", "format: iceberg").replace("type: date", "type: smallint");
    assertThatThrownBy(() -> parse(yaml))
        .hasMessageContainingAll("`order_date`", "smallint", "Iceberg", "use int");
  }

  @Test
  void aFolderOfSpecsIsLoadedAllOrNothing(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.yaml"), GOOD);
    Files.writeString(dir.resolve("b.yaml"), GOOD.replace("shop.orders", "shop.returns"));
    assertThat(TableSpecs.load(dir))
        .extracting(s -> s.name().toString())
        .containsExactly("shop.orders", "shop.returns");
    Files.writeString(dir.resolve("c.yaml"), GOOD);
    assertThatThrownBy(() -> TableSpecs.load(dir))
        .hasMessageContainingAll("shop.orders", "declared twice", "a.yaml", "c.yaml");
    assertThatThrownBy(() -> TableSpecs.load(dir.resolve("missing")))
        .hasMessageContainingAll("missing", "no such file or folder");
  }
}
