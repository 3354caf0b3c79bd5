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
    return new Looked(rows);
  }

  /**
   * The spine's rows with their features, looked up {@value RowValues#READ_AHEAD} at a time: each
   * step of the lookup (entity, position, answer, answer row) runs for the whole group before the
   * next, so that the group's memory reads — a handful of cache misses per row into the broadcast
   * times and answers — overlap instead of following one another.
   */
  private final class Looked implements Iterator<InternalRow> {
    private final Iterator<InternalRow> in;
    private final SpineTimes times = spine.value();
    private final FeatureAnswers[] all = answers.value();
    private final SpineTimes.Lookups group = new SpineTimes.Lookups(RowValues.READ_AHEAD);
    private final InternalRow[] held = new InternalRow[RowValues.READ_AHEAD];
    // per source: its answer row, or -1
    private final long[][] at = new long[all.length][RowValues.READ_AHEAD];
    private final UnsafeRow[] answerRows = new UnsafeRow[all.length];
    private final InternalRow out = new SpecificInternalRow(output);
    private final int hashColumn = spineWidth;
    private final int microsColumn = spineWidth + 1;
    private int size;
    private int next;
    private long touched; // answer rows' first words, read ahead (kept, so the reads are kept)

    Looked(Iterator<InternalRow> in) {
      this.in = in;
      for (int i = 0; i < all.length; i++) {
        answerRows[i] = all[i].newRow();
      }
    }

    @Override
    public boolean hasNext() {
      return next < size || in.hasNext();
    }

    /** One reused row: the reader converts each row before it asks for the next. */
    @Override
    public InternalRow next() {
      if (next == size) {
        if (!in.hasNext()) {
          throw new NoSuchElementException();
        }
        lookUp();
      }
      int k = next++;
      InternalRow row = held[k];
      for (int c = 0; c < spineWidth; c++) {
        RowValues.copy(row, c, out, c, kinds[c], types[c], false);
      }
      int o = spineWidth;
      for (int i = 0; i < all.length; i++) {
        int[] columns = featureColumns[i];
        UnsafeRow a = answerRows[i];
        long where = at[i][k];
        boolean found = where >= 0;
        if (found) {
          all[i].point(where, a);
          found = spineKeys.same(row, sourceKeys[i], a);
        }
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

    /** Reads the next group of rows (copies: the reader reuses its row) and looks them up. */
    private void lookUp() {
      size = RowValues.copyNext(in, held);
      next = 0;
      for (int k = 0; k < size; k++) {
        InternalRow row = held[k];
        boolean absent = row.isNullAt(microsColumn) || spineKeys.anyNull(row);
        group.absent[k] = absent;
        group.hashes[k] = absent ? 0 : row.getLong(hashColumn);
        group.micros[k] = absent ? 0 : row.getLong(microsColumn);
      }
      times.positions(group, size);
      long touch = 0;
      for (int i = 0; i < all.length; i++) {
        long[] where = at[i];
        for (int k = 0; k < size; k++) {
          int p = group.positions[k];
          where[k] = p < 0 ? -1 : all[i].at(p, group.micros[k] - ttls[i]);
        }
        for (int k = 0; k < size; k++) {
          touch += where[k] < 0 ? 0 : all[i].firstWord(where[k]);
        }
      }
      touched += touch;
    }
  }
}
