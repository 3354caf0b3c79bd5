package dev.lakeforge.features;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The point-in-time join's pass over the spine when every source's answers are broadcast ({@link
 * FeatureAnswers}): each spine row finds its position among its entity's spine times and takes,
 * from each source, the answer row at that position if it is within the source's ttl and of the
 * same entity (keys compared, so a colliding hash never matches). One row out per row in, in the
 * spine's own partitions: no shuffle, no sort.
 *
 * <p>Input row layout: the spine's columns, then the entity hash and the time in microseconds.
 */
final class SpineLookup implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<SpineTimes> spine;
  private final Broadcast<FeatureAnswers[]> answers;
  private final long[] ttls;
  private final EntityKeys spineKeys;
  private final EntityKeys[] sourceKeys;
  private final int[][] featureColumns;
  private final DataType[] types;
  private final char[] kinds;
  private final StructType output;
  private final int spineWidth;

  /**
   * @param output the join's output schema: the spine's columns, then each source's features
   * @param spineWidth how many spine columns lead the input and output rows
   * @param spineKeys where the input rows hold the entity's keys
   * @param sourceKeys per source, where its answer rows hold the keys
   * @param featureColumns per source, where its answer rows hold the selected features, in order
   */
  SpineLookup(
      Broadcast<SpineTimes> spine,
      Broadcast<FeatureAnswers[]> answers,
      long[] ttls,
      StructType output,
      int spineWidth,
      EntityKeys spineKeys,
      EntityKeys[] sourceKeys,
      int[][] featureColumns) {
    this.spine = spine;
    this.answers = answers;
    this.ttls = ttls.clone();
    this.output = output;
    this.spineWidth = spineWidth;
    this.spineKeys = spineKeys;
    this.sourceKeys = sourceKeys.clone();
    this.featureColumns = featureColumns.clone();
    StructField[] fields = output.fields();
    this.types = new DataType[fields.length];
    this.kinds = new char[fields.length];
    for (int c = 0; c < fields.length; c++) {
      types[c] = fields[c].dataType();
      kinds[c] = RowValues.kind(types[c]);
    }
  }

  @Override
  public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
    SpineTimes times = spine.value();
    FeatureAnswers[] all = answers.value();
    UnsafeRow[] answerRows = new UnsafeRow[all.length];
    for (int i = 0; i < all.length; i++) {
      answerRows[i] = all[i].newRow();
    }
    InternalRow out = new SpecificInternalRow(output);
    int hashColumn = spineWidth;
    int microsColumn = spineWidth + 1;
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      /** One reused row: the reader converts each row before it asks for the next. */
      @Override
      public InternalRow next() {
        if (!rows.hasNext()) {
          throw new NoSuchElementException();
        }
        InternalRow row = rows.next();
        for (int c = 0; c < spineWidth; c++) {
          RowValues.copy(row, c, out, c, kinds[c], types[c], false);
        }
        int p = -1;
        long micros = 0;
        if (!row.isNullAt(microsColumn) && !spineKeys.anyNull(row)) {
          micros = row.getLong(microsColumn);
          int e = times.entity(row.getLong(hashColumn));
          if (e >= 0) {
            p = times.first(e, micros);
            p = p < times.end(e) ? p : -1; // its own time is there: never -1 for a spine row
          }
        }
        int o = spineWidth;
        for (int i = 0; i < all.length; i++) {
          int[] columns = featureColumns[i];
          UnsafeRow a = answerRows[i];
          boolean found =
              p >= 0
                  && all[i].answer(p, micros - ttls[i], a)
                  && spineKeys.same(row, sourceKeys[i], a);
          for (int j = 0; j < columns.length; j++) {
            if (found) {
              RowValues.copy(a, columns[j], out, o + j, kinds[o + j], types[o + j], false);
            } else {
              out.setNullAt(o + j);
            }
          }
          o += columns.length;
        }
        return out;
      }
    };
  }
}
