package dev.lakeforge.features;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.unsafe.Platform;

/**
 * One feature source's answers, by spine position ({@link SpineTimes}): for each spine row's
 * position, the latest feature row of its entity at or before the spine time, with that row's time.
 * Which feature rows lie within the spine row's ttl is left to the reader ({@link #answer}). Built
 * on the driver from the rows each scan task sends ({@link Collect}, {@link Merger}) and broadcast
 * to the spine's tasks ({@link SpineLookup}), so the join needs no shuffle.
 *
 * <p>Position p's answer is the latest feature row whose interval (the first spine time of its
 * entity at or after it, {@link SpineTimes#interval}) is p, or, when there is none, position p -
 * 1's answer within the same entity: the latest row at or before the spine time either way.
 *
 * <p>Entities are matched by a 64-bit hash of their keys; two entities whose hashes collide share
 * positions. The merger notices when rows of two different entities meet at one entity's positions
 * and gives up ({@link Merger#build} returns empty: the join then shuffles and compares keys), and
 * the reader compares the answer row's keys with the spine row's, so a feature-only entity whose
 * hash collides with a spine entity's is never taken for it.
 */
final class FeatureAnswers implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int fields;

  /**
   * Two longs per position, so that a lookup reads one cache line: the answer row's time, then its
   * offset in {@code rows} (high 32 bits) and size (low 32 bits); -1 when it has none.
   */
  private final long[] entries;

  private final byte[] rows; // UnsafeRow bytes, back to back

  private FeatureAnswers(int fields, long[] entries, byte[] rows) {
    this.fields = fields;
    this.entries = entries;
    this.rows = rows;
  }

  /** A row object to pass to {@link #point}. */
  UnsafeRow newRow() {
    return new UnsafeRow(fields);
  }

  /**
   * Where position {@code p}'s answer row lies, if it has one at or after {@code earliest} (the
   * spine time less the ttl): for {@link #point}; -1 if it has none.
   */
  long at(int p, long earliest) {
    long at = entries[2 * p + 1];
    return at < 0 || entries[2 * p] < earliest ? -1 : at;
  }

  /**
   * Points {@code row} at the answer row {@code at} ({@link #at}; valid as long as this object).
   */
  void point(long at, UnsafeRow row) {
    row.pointTo(rows, Platform.BYTE_ARRAY_OFFSET + (int) (at >>> 32), (int) at);
  }

  /**
   * The first word of the answer row {@code at}: reading it ahead of a row's use brings the row
   * into the processor's cache while other reads are under way.
   */
  long firstWord(long at) {
    return Platform.getLong(rows, Platform.BYTE_ARRAY_OFFSET + (int) (at >>> 32));
  }

  /** How many bytes of rows it holds. */
  long bytes() {
    return rows.length;
  }

  /**
   * Some of one scan task's feature rows that some spine row may see, with their positions: what it
   * sends to the driver, in one or more batches. {@code overflow} when the task had more than the
   * limit (its only batch then, with no rows).
   */
  static final class Batch implements Serializable {
    private static final long serialVersionUID = 1L;

    final long[] entries; // position, time: two per row
    final int[] sizes;
    final byte[] bytes;
    final boolean overflow;

    Batch(long[] entries, int[] sizes, byte[] bytes, boolean overflow) {
      this.entries = entries;
      this.sizes = sizes;
      this.bytes = bytes;
      this.overflow = overflow;
    }

    /**
     * The first {@code n} rows ({@code used} bytes) of the arrays, trimmed where they are not full.
     */
    static Batch of(long[] entries, int[] sizes, byte[] bytes, int n, int used) {
      return new Batch(
          n == sizes.length ? entries : Arrays.copyOf(entries, 2 * n),
          n == sizes.length ? sizes : Arrays.copyOf(sizes, n),
          used == bytes.length ? bytes : Arrays.copyOf(bytes, used),
          false);
    }

    int rows() {
      return sizes.length;
    }

    long size() {
      return bytes.length + 12L * sizes.length;
    }
  }

  /**
   * Runs in each scan task, after thinning: packs the rows some spine row can see (with their
   * positions) into {@link Batch}es; rows of entities not in the spine, or too old for the next
   * spine row of their entity, are dropped. Rows must be {@link UnsafeRow}s. Composed with the
   * thinning ({@link #after}), it takes each row's position from it instead of looking it up.
   */
  static final class Collect implements FlatMapFunction<Iterator<InternalRow>, Batch> {
    private static final long serialVersionUID = 1L;

    /** The most rows in one {@link Batch}. */
    static final int BATCH_ROWS = 4096;

    /** The most bytes of rows in one {@link Batch}, unless one row is larger. */
    static final int BATCH_BYTES = 256 << 10;

    private final Broadcast<SpineTimes> spine;
    private final long ttl;
    private final int hashColumn;
    private final int timeColumn;
    private final long limitBytes;

    /**
     * @param hashColumn the row's entity hash
     * @param timeColumn the row's order column (microseconds × 2)
     * @param limitBytes the most bytes a task sends; a task with more sends an overflow
     */
    Collect(
        Broadcast<SpineTimes> spine, long ttl, int hashColumn, int timeColumn, long limitBytes) {
      this.spine = spine;
      this.ttl = ttl;
      this.hashColumn = hashColumn;
      this.timeColumn = timeColumn;
      this.limitBytes = limitBytes;
    }

    /**
     * This after {@code thin}: the rows' intervals are those thinning found, not looked up again.
     */
    FlatMapFunction<Iterator<InternalRow>, Batch> after(LatestPerInterval thin) {
      return rows -> {
        LatestPerInterval.Thinned thinned = thin.call(rows);
        return collect(thinned, thinned);
      };
    }

    @Override
    public Iterator<Batch> call(Iterator<InternalRow> rows) {
      return collect(rows, null);
    }

    /**
     * Packs {@code rows}; their intervals from {@code thinned} (those rows), else looked up. The
     * rows go into batches of at most {@value #BATCH_ROWS} rows and {@value #BATCH_BYTES} bytes (a
     * larger row takes a batch of its own), so that no array grows by copies and none is large
     * enough for the collector to treat it apart (a task's rows are tens of megabytes).
     */
    private Iterator<Batch> collect(Iterator<InternalRow> rows, LatestPerInterval.Thinned thinned) {
      SpineTimes times = spine.value();
      List<Batch> full = new ArrayList<>();
      long[] entries = new long[2 * BATCH_ROWS];
      int[] sizes = new int[BATCH_ROWS];
      byte[] bytes = new byte[BATCH_BYTES];
      int n = 0;
      int used = 0;
      long sent = 0; // bytes of the full batches
      while (rows.hasNext()) {
        InternalRow r = rows.next();
        if (!(r instanceof UnsafeRow row)) {
          throw new IllegalStateException("expected UnsafeRows, got " + r.getClass().getName());
        }
        long micros = row.getLong(timeColumn) >> 1;
        long p = thinned == null ? LatestPerInterval.UNKNOWN : thinned.interval();
        if (p == LatestPerInterval.UNKNOWN) {
          int e = times.entity(row.getLong(hashColumn));
          p = e < 0 ? -1 : times.interval(e, micros, ttl);
        }
        if (p < 0) {
          continue;
        }
        int size = row.getSizeInBytes();
        if (sent + used + size + 12L * (n + 1) > limitBytes) {
          return Collections.singletonList(new Batch(new long[0], new int[0], new byte[0], true))
              .iterator();
        }
        if (n == BATCH_ROWS || used + size > bytes.length) {
          full.add(Batch.of(entries, sizes, bytes, n, used));
          sent += used + 12L * n;
          entries = new long[2 * BATCH_ROWS];
          sizes = new int[BATCH_ROWS];
          bytes = new byte[Math.max(BATCH_BYTES, size)];
          n = 0;
          used = 0;
        }
        Platform.copyMemory(
            row.getBaseObject(),
            row.getBaseOffset(),
            bytes,
            Platform.BYTE_ARRAY_OFFSET + used,
            size);
        entries[2 * n] = p;
        entries[2 * n + 1] = micros;
        sizes[n++] = size;
        used += size;
      }
      if (n > 0 || full.isEmpty()) {
        full.add(Batch.of(entries, sizes, bytes, n, used));
      }
      return full.iterator();
    }
  }

  /**
   * Gathers the batches of one source's scan on the driver (as each task finishes) into its
   * answers: per position the latest row, with ties and colliding entities noted. It keeps the
   * batches and, per position, where its latest row lies in them (no copy per row), at most {@code
   * limitBytes} of them; past that it drops what it has and {@link #build} returns empty.
   */
  static final class Merger {
    /** How many blocks of entities {@link #build} copies side by side (on the common pool). */
    private static final int BUILD_BLOCKS = 64;

    private final SpineTimes times;
    private final int fields;
    private final EntityKeys keys;
    private final String source;
    private final long limitBytes;
    private final List<Batch> batches = new ArrayList<>();

    /**
     * Three longs per position, so that a row's visit reads one place: the latest row's time; its
     * batch (high 32 bits) and offset in it (low 32 bits), -1 if none; its size times two, plus one
     * when another row has the same time.
     */
    private long[] state;

    private final UnsafeRow a;
    private final UnsafeRow b;
    private long received;
    private long rowsReceived;
    private Optional<String> givenUp = Optional.empty();
    private long touched; // what reads ahead read (kept, so the reads are kept)

    /**
     * @param fields how many fields the rows have
     * @param keys where the rows hold the entity's keys
     * @param source the source's name, for errors
     */
    Merger(SpineTimes times, int fields, EntityKeys keys, String source, long limitBytes) {
      this.times = times;
      this.fields = fields;
      this.keys = keys;
      this.source = source;
      this.limitBytes = limitBytes;
      this.state = new long[3 * times.size()];
      for (int s = 1; s < state.length; s += 3) {
        state[s] = -1;
      }
      this.a = new UnsafeRow(fields);
      this.b = new UnsafeRow(fields);
    }

    /** How many rows the tasks sent. */
    synchronized long rowsReceived() {
      return rowsReceived;
    }

    /** How many bytes the tasks sent. */
    synchronized long bytesReceived() {
      return received;
    }

    /**
     * Why it gave up (more rows than the limit, two entities with one hash); empty if it did not.
     */
    synchronized Optional<String> givenUp() {
      return givenUp;
    }

    /** Adds one task's rows. */
    synchronized void add(Batch batch) {
      if (givenUp.isPresent()) {
        return;
      }
      received += batch.size();
      rowsReceived += batch.rows();
      if (batch.overflow || received > limitBytes) {
        giveUp(
            String.format("its rows that spine rows can see are more than %,d bytes", limitBytes));
        return;
      }
      int index = batches.size();
      batches.add(batch);
      int o = 0;
      for (int k = 0; k < batch.rows(); k++) {
        if (k % RowValues.READ_AHEAD == 0) {
          touchStates(batch, k);
        }
        int s = 3 * (int) batch.entries[2 * k];
        long t = batch.entries[2 * k + 1];
        int size = batch.sizes[k];
        boolean held = state[s + 1] >= 0;
        if (held) {
          point(a, s);
          b.pointTo(batch.bytes, Platform.BYTE_ARRAY_OFFSET + o, size);
          if (!keys.same(a, keys, b)) {
            giveUp("two of its entities have the same 64-bit key hash");
            return;
          }
        }
        if (!held || t > state[s]) {
          state[s] = t;
          state[s + 1] = ((long) index << 32) | o;
          state[s + 2] = 2L * size;
        } else if (t == state[s]) {
          state[s + 2] |= 1; // tied
        }
        o += size;
      }
    }

    /**
     * Reads the states of the batch's next {@value RowValues#READ_AHEAD} rows' positions ahead of
     * their use, so that these scattered reads overlap instead of following one another.
     */
    private void touchStates(Batch batch, int from) {
      long touch = 0;
      for (int k = from; k < Math.min(batch.rows(), from + RowValues.READ_AHEAD); k++) {
        touch += state[3 * (int) batch.entries[2 * k]];
      }
      touched += touch;
    }

    private void giveUp(String why) {
      givenUp = Optional.of(why);
      batches.clear();
      state = null;
    }

    /** Points {@code row} at the latest row of the position whose state is at {@code s}. */
    private void point(UnsafeRow row, int s) {
      long where = state[s + 1];
      row.pointTo(
          batches.get((int) (where >>> 32)).bytes,
          Platform.BYTE_ARRAY_OFFSET + (int) where,
          (int) (state[s + 2] >>> 1));
    }

    /**
     * The answers; empty if it gave up (see {@link #givenUp}), including when two entities' rows
     * meet at one entity's positions. A {@link FeatureException} when a position's latest row has a
     * twin at the same time: that row is some spine row's answer. Blocks of entities are copied
     * side by side, and the first problem in entity order is the one reported. Call it once, after
     * the last batch: it lets the batches go.
     */
    synchronized Optional<FeatureAnswers> build() {
      if (givenUp.isPresent()) {
        return Optional.empty();
      }
      int n = times.size();
      long total = 0;
      for (int s = 0; s < state.length; s += 3) {
        total += state[s + 1] >= 0 ? state[s + 2] >>> 1 : 0;
      }
      if (total > Integer.MAX_VALUE - 8) {
        giveUp(String.format("its answer rows are more than %,d bytes", Integer.MAX_VALUE));
        return Optional.empty();
      }
      // Entities' positions are contiguous, so blocks of entities copy into disjoint ranges of the
      // answers, side by side: where each block's rows start is the bytes of the blocks before.
      int entities = times.entities();
      int blocks = Math.max(1, Math.min(BUILD_BLOCKS, entities));
      int[] firstEntity = new int[blocks + 1];
      int[] offset = new int[blocks + 1];
      for (int k = 0; k < blocks; k++) {
        firstEntity[k + 1] = (int) ((long) entities * (k + 1) / blocks);
        long bytes = 0;
        for (int p = positionOf(firstEntity[k]); p < positionOf(firstEntity[k + 1]); p++) {
          bytes += state[3 * p + 1] >= 0 ? state[3 * p + 2] >>> 1 : 0;
        }
        offset[k + 1] = (int) (offset[k] + bytes);
      }
      long[] entries = new long[2 * n];
      byte[] all = new byte[(int) total];
      byte[][] bytesOf = batches.stream().map(x -> x.bytes).toArray(byte[][]::new);
      Block[] built =
          IntStream.range(0, blocks)
              .parallel()
              .mapToObj(
                  k ->
                      copyBlock(
                          firstEntity[k], firstEntity[k + 1], offset[k], entries, all, bytesOf))
              .toArray(Block[]::new);
      for (Block block : built) { // the first problem in entity order, as one pass would find it
        touched += block.touched();
        if (block.collision()) {
          giveUp("two of its entities have the same 64-bit key hash");
          return Optional.empty();
        }
        if (block.duplicate() != null) {
          throw FeatureException.duplicateRows(source, block.duplicate(), block.time());
        }
      }
      batches.clear();
      state = null;
      return Optional.of(new FeatureAnswers(fields, entries, all));
    }

    /** The first position of entity {@code e}; the number of positions for {@code e} = all. */
    private int positionOf(int e) {
      return e < times.entities() ? times.start(e) : times.size();
    }

    /**
     * What copying one block of entities found: its first problem, if any (two entities with one
     * hash; or the keys of a position's latest row that has a twin at its time), and what it read
     * ahead.
     */
    private record Block(boolean collision, String duplicate, long time, long touched) {}

    /**
     * Copies the answer rows of entities [from, to) into {@code all} from {@code used} on and fills
     * their positions' entries; stops at the block's first problem.
     */
    private Block copyBlock(
        int from, int to, int used, long[] entries, byte[] all, byte[][] bytesOf) {
      UnsafeRow previousRow = new UnsafeRow(fields);
      UnsafeRow row = new UnsafeRow(fields);
      int n = times.size();
      long touch = 0;
      for (int e = from; e < to; e++) {
        int start = times.start(e);
        int previous = -1; // the offset in all of the entity's previous row
        int previousSize = 0;
        for (int p = start; p < times.end(e); p++) {
          if (p % RowValues.READ_AHEAD == 0) {
            touch += touchRows(bytesOf, p, Math.min(n, p + RowValues.READ_AHEAD));
          }
          long where = state[3 * p + 1];
          if (where < 0) {
            // the latest row so far: position p - 1's answer, or none
            entries[2 * p] = p > start ? entries[2 * p - 2] : 0;
            entries[2 * p + 1] = p > start ? entries[2 * p - 1] : -1;
            continue;
          }
          long t = state[3 * p];
          int size = (int) (state[3 * p + 2] >>> 1);
          System.arraycopy(bytesOf[(int) (where >>> 32)], (int) where, all, used, size);
          row.pointTo(all, Platform.BYTE_ARRAY_OFFSET + used, size);
          if (previous >= 0) {
            previousRow.pointTo(all, Platform.BYTE_ARRAY_OFFSET + previous, previousSize);
            if (!keys.same(previousRow, keys, row)) {
              return new Block(true, null, 0, touch);
            }
          }
          if ((state[3 * p + 2] & 1) != 0) {
            return new Block(false, keys.describe(row), t, touch);
          }
          entries[2 * p] = t;
          entries[2 * p + 1] = ((long) used << 32) | size;
          previous = used;
          previousSize = size;
          used += size;
        }
      }
      return new Block(false, null, 0, touch);
    }

    /**
     * Reads the first byte of positions [from, to)'s rows ahead of their copy (see above); returns
     * what it read, for the caller to keep.
     */
    private long touchRows(byte[][] bytesOf, int from, int to) {
      long touch = 0;
      for (int p = from; p < to; p++) {
        long where = state[3 * p + 1];
        touch += where < 0 ? 0 : bytesOf[(int) (where >>> 32)][(int) where];
      }
      return touch;
    }
  }
}
