package dev.lakeforge.inference;

import java.nio.Buffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense tensor: an element type, a shape and a primitive buffer holding the elements in row-major
 * order. Inputs are usually direct buffers that the scorer fills from column values and reuses from
 * batch to batch (an engine may read them without copying); outputs are the engine's copy. The
 * buffer's remaining elements are the tensor, and it is not copied here: do not change it while an
 * engine uses it.
 */
public final class Tensor {
  /** Element types a tensor may hold. */
  public enum Type {
    FLOAT32,
    FLOAT64,
    INT32,
    INT64
  }

  private final Type type;
  private final long[] shape;
  private final Buffer data;

  private Tensor(Type type, Buffer data, long[] shape) {
    this.type = type;
    this.data = Objects.requireNonNull(data, "data is null");
    this.shape = Objects.requireNonNull(shape, "shape is null").clone();
    long count = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(shape) + " has a negative dimension");
      }
      count *= d;
    }
    if (count != data.remaining()) {
      throw new IllegalArgumentException(
          String.format(
              "shape %s holds %d elements but the buffer has %d",
              Arrays.toString(shape), count, data.remaining()));
    }
  }

  public static Tensor of(FloatBuffer data, long... shape) {
    return new Tensor(Type.FLOAT32, data, shape);
  }

  public static Tensor of(DoubleBuffer data, long... shape) {
    return new Tensor(Type.FLOAT64, data, shape);
  }

  public static Tensor of(IntBuffer data, long... shape) {
    return new Tensor(Type.INT32, data, shape);
  }

  public static Tensor of(LongBuffer data, long... shape) {
    return new Tensor(Type.INT64, data, shape);
  }

  public Type type() {
    return type;
  }

  /** A copy of the shape. */
  public long[] shape() {
    return shape.clone();
  }

  /** The number of elements. */
  public int size() {
    return data.remaining();
  }

  /** The elements, for a {@link Type#FLOAT32} tensor. */
  public FloatBuffer floats() {
    return (FloatBuffer) as(Type.FLOAT32);
  }

  /** The elements, for a {@link Type#FLOAT64} tensor. */
  public DoubleBuffer doubles() {
    return (DoubleBuffer) as(Type.FLOAT64);
  }

  /** The elements, for a {@link Type#INT32} tensor. */
  public IntBuffer ints() {
    return (IntBuffer) as(Type.INT32);
  }

  /** The elements, for a {@link Type#INT64} tensor. */
  public LongBuffer longs() {
    return (LongBuffer) as(Type.INT64);
  }

  private Buffer as(Type wanted) {
    if (type != wanted) {
      throw new IllegalStateException("this tensor holds " + type + ", not " + wanted);
    }
    return data;
  }

  /** Element {@code i} (row-major, from the buffer's position) as a double, whatever the type. */
  public double getDouble(int i) {
    int at = data.position() + i;
    return switch (type) {
      case FLOAT32 -> ((FloatBuffer) data).get(at);
      case FLOAT64 -> ((DoubleBuffer) data).get(at);
      case INT32 -> ((IntBuffer) data).get(at);
      case INT64 -> ((LongBuffer) data).get(at);
    };
  }

  /** Element {@code i} as a long: exact for the integer types, truncated for the float types. */
  public long getLong(int i) {
    int at = data.position() + i;
    return switch (type) {
      case INT32 -> ((IntBuffer) data).get(at);
      case INT64 -> ((LongBuffer) data).get(at);
      default -> (long) getDouble(i);
    };
  }

  @Override
  public String toString() {
    return type.name().toLowerCase(java.util.Locale.ROOT) + Arrays.toString(shape);
  }
}
