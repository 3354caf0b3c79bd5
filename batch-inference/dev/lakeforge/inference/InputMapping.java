package dev.lakeforge.inference;

import dev.lakeforge.core.SpecException;
import java.io.Serializable;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How one model input is filled from the columns of a row. Checked against the model's signature
 * and the DataFrame's schema before any Spark job runs.
 */
public sealed interface InputMapping extends Serializable
    permits InputMapping.Tabular, InputMapping.ArrayColumn, InputMapping.Text {

  /** The columns this input reads. */
  List<String> columns();

  /**
   * Numeric columns (byte, short, int, long, float, double, decimal) into one float tensor {@code
   * [batch, columns.size()]}, in the order given, which must be the model's feature order.
   *
   * @param columns the feature columns
   * @param nulls what a null value becomes
   */
  record Tabular(List<String> columns, NullPolicy nulls) implements InputMapping {
    private static final long serialVersionUID = 1L;

    public Tabular {
      Objects.requireNonNull(nulls, "nulls is null");
      if (columns == null || columns.isEmpty()) {
        throw new SpecException("a tabular input needs `columns`: list the feature columns.");
      }
      columns = List.copyOf(columns);
      Set<String> seen = new HashSet<>();
      for (String c : columns) {
        if (c == null || c.isBlank()) {
          throw new SpecException("a tabular input lists an empty column name.");
        }
        if (!seen.add(c)) {
          throw new SpecException(String.format("a tabular input lists column `%s` twice.", c));
        }
      }
    }
  }

  /**
   * An {@code array<float>} or {@code array<double>} column, each row's array reshaped to {@code
   * shape}, into a float tensor {@code [batch, ...shape]}. A row whose array has another length, or
   * is null, is an error naming the column.
   *
   * @param column the array column
   * @param shape the shape of one row (without the batch dimension)
   */
  record ArrayColumn(String column, List<Long> shape) implements InputMapping {
    private static final long serialVersionUID = 1L;

    public ArrayColumn {
      if (column == null || column.isBlank()) {
        throw new SpecException("a tensor input needs `column`: name the array column.");
      }
      if (shape == null || shape.isEmpty()) {
        throw new SpecException(
            String.format(
                "the tensor input from column `%s` needs `shape`: the shape of one row, e.g. [1, 8, 8].",
                column));
      }
      shape = List.copyOf(shape);
      for (long d : shape) {
        if (d < 1) {
          throw new SpecException(
              String.format(
                  "the tensor input from column `%s` has shape %s: every dimension must be at least 1.",
                  column, shape));
        }
      }
    }

    @Override
    public List<String> columns() {
      return List.of(column);
    }

    /** The number of values in one row's array. */
    public long size() {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }
  }

  /**
   * A string column tokenized with the {@code tokenizer.json} stored in the model version, into the
   * inputs the model's signature names among {@code input_ids}, {@code attention_mask} and {@code
   * token_type_ids} (int64 {@code [batch, sequence]}; {@code input_ids} is required). Each batch is
   * padded to its longest row only; rows are sorted by token length within a bounded window first
   * (see {@link RuntimeOptions#bucketing()}). A null value is an error naming the column.
   *
   * <p>Its key in {@link Mappings} is a label for the group of inputs it fills (e.g. {@code text}),
   * not a model input name.
   *
   * @param column the string column
   * @param maxLength the most tokens per row, special tokens included
   * @param truncation whether longer texts are cut to {@code maxLength}; when false, a longer text
   *     fails the scoring, naming the column and the row
   */
  record Text(String column, int maxLength, boolean truncation) implements InputMapping {
    private static final long serialVersionUID = 1L;

    /** The largest {@code max-length}. */
    public static final int MAX_LENGTH_MAX = 8192;

    public Text {
      if (column == null || column.isBlank()) {
        throw new SpecException("a text input needs `column`: name the string column.");
      }
      if (maxLength < 2 || maxLength > MAX_LENGTH_MAX) {
        throw new SpecException(
            String.format(
                "the text input from column `%s` has max-length %d: use 2 to %d tokens (the model's own"
                    + " limit, e.g. 128 or 512).",
                column, maxLength, MAX_LENGTH_MAX));
      }
    }

    @Override
    public List<String> columns() {
      return List.of(column);
    }
  }

  /** The string {@code column}, tokenized to at most {@code maxLength} tokens; see {@link Text}. */
  static Text text(String column, int maxLength, boolean truncation) {
    return new Text(column, maxLength, truncation);
  }

  /** Numeric {@code columns} into one float tensor, nulls handled by {@code nulls}. */
  static Tabular tabular(NullPolicy nulls, String... columns) {
    return new Tabular(List.of(columns), nulls);
  }

  /** Numeric {@code columns} into one float tensor, nulls handled by {@code nulls}. */
  static Tabular tabular(NullPolicy nulls, List<String> columns) {
    return new Tabular(columns, nulls);
  }

  /** The array column {@code column}, each row reshaped to {@code shape}. */
  static ArrayColumn tensor(String column, long... shape) {
    return new ArrayColumn(column, java.util.Arrays.stream(shape).boxed().toList());
  }
}
