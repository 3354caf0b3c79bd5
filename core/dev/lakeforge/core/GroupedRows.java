package dev.lakeforge.core;

import static org.apache.spark.sql.functions.hash;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;

import java.io.Serializable;
import java.util.Iterator;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.rdd.ShuffledRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.UnsafeRowSerializer;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The rows of a DataFrame split into numbered groups by one shuffle, so that a job over one group
 * reads that group's rows only. Filtering the DataFrame once per group instead would read (and
 * decode) all of its input once per group: work that grows with the square of the input when the
 * groups are of a fixed size.
 *
 * <p>Each group owns {@code spread} consecutive shuffle partitions (rows spread over them by a hash
 * of the given columns), so a group is still read by that many tasks. The shuffle's map side runs
 * with the first Spark job that reads a group; later groups read its output, as jobs sharing a
 * shuffle do, and Spark deletes its files once this object is unreachable. Nothing runs when the
 * object is made. The rows travel in Spark SQL's own row format and serializer, as in any DataFrame
 * shuffle.
 */
public final class GroupedRows {
  private static final String PARTITION = "__lakeforge_partition";
  private static final ClassTag<Integer> INT = ClassTag$.MODULE$.apply(Integer.class);
  private static final ClassTag<InternalRow> ROW = ClassTag$.MODULE$.apply(InternalRow.class);

  private final SparkSession spark;
  private final StructType schema;
  private final int groups;
  private final int spread;
  private final RDD<Tuple2<Integer, InternalRow>> shuffled;

  private GroupedRows(
      SparkSession spark,
      StructType schema,
      int groups,
      int spread,
      RDD<Tuple2<Integer, InternalRow>> shuffled) {
    this.spark = spark;
    this.schema = schema;
    this.groups = groups;
    this.spread = spread;
    this.shuffled = shuffled;
  }

  /**
   * Groups the rows of {@code df} by {@code group}, an int expression in {@code [0, groups)}, each
   * group over {@code spread} partitions by a hash of {@code spreadBy}. A row whose group is null
   * or out of range fails the job that reads it.
   */
  public static GroupedRows of(
      Dataset<Row> df, Column group, int groups, Column[] spreadBy, int spread) {
    if (groups < 1 || spread < 1 || spreadBy.length == 0) {
      throw new IllegalArgumentException(
          "groups ("
              + groups
              + ") and spread ("
              + spread
              + ") must be positive, with at least one column to spread by");
    }
    int partitions = Math.multiplyExact(groups, spread);
    Dataset<Row> keyed =
        df.withColumn(
            PARTITION,
            group
                .cast(DataTypes.IntegerType)
                .multiply(lit(spread))
                .plus(pmod(hash(spreadBy), lit(spread))));
    StructType schema = df.schema();
    int partitionColumn = schema.size();
    StructType keyedSchema = keyed.schema();
    RDD<Tuple2<Integer, InternalRow>> pairs =
        SparkInternals.internalRows(keyed)
            .toJavaRDD()
            .mapPartitions(new ToPairs(keyedSchema, partitionColumn, partitions))
            .rdd();
    ShuffledRDD<Integer, InternalRow, InternalRow> shuffled =
        new ShuffledRDD<>(pairs, new ByPartitionNumber(partitions), INT, ROW, ROW);
    shuffled.setSerializer(new UnsafeRowSerializer(keyedSchema.size(), null));
    return new GroupedRows(df.sparkSession(), schema, groups, spread, shuffled);
  }

  /** The rows of group {@code g}, with the columns of the grouped DataFrame. */
  public Dataset<Row> group(int g) {
    if (g < 0 || g >= groups) {
      throw new IllegalArgumentException("group " + g + " is not in [0, " + groups + ")");
    }
    int from = g * spread;
    int to = from + spread;
    RDD<Tuple2<Integer, InternalRow>> own =
        PartitionPruningRDD.create(
            shuffled, (scala.Function1<Object, Object> & Serializable) p -> inRange(p, from, to));
    RDD<InternalRow> rows = own.toJavaRDD().map(Tuple2::_2).rdd();
    StructType keyed = schema.add(PARTITION, DataTypes.IntegerType);
    return SparkInternals.fromInternalRows(spark, rows, keyed).drop(PARTITION);
  }

  private static boolean inRange(Object partition, int from, int to) {
    int p = (Integer) partition;
    return p >= from && p < to;
  }

  /** How many groups. */
  public int groups() {
    return groups;
  }

  /** (partition number, row in Spark's unsafe format) for each row. */
  private static final class ToPairs
      implements FlatMapFunction<Iterator<InternalRow>, Tuple2<Integer, InternalRow>> {
    private static final long serialVersionUID = 1L;
    private final StructType schema;
    private final int partitionColumn;
    private final int partitions;

    ToPairs(StructType schema, int partitionColumn, int partitions) {
      this.schema = schema;
      this.partitionColumn = partitionColumn;
      this.partitions = partitions;
    }

    @Override
    public Iterator<Tuple2<Integer, InternalRow>> call(Iterator<InternalRow> in) {
      UnsafeProjection unsafe = UnsafeProjection.create(schema);
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return in.hasNext();
        }

        @Override
        public Tuple2<Integer, InternalRow> next() {
          InternalRow r = in.next();
          Integer partition = r.isNullAt(partitionColumn) ? null : r.getInt(partitionColumn);
          if (partition == null || partition < 0 || partition >= partitions) {
            throw new IllegalStateException(
                "a row's group is null or outside [0, groups): shuffle partition " + partition);
          }
          // A copy: the scan reuses its row objects, and a shuffle writer other than Spark's own
          // (a remote shuffle service) may hold records before it serializes them.
          UnsafeRow row = r instanceof UnsafeRow u ? u : unsafe.apply(r);
          return new Tuple2<>(partition, row.copy());
        }
      };
    }
  }

  /** Sends a record to the partition its key names. */
  private static final class ByPartitionNumber extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int partitions;

    ByPartitionNumber(int partitions) {
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ByPartitionNumber b && b.partitions == partitions;
    }

    @Override
    public int hashCode() {
      return Integer.hashCode(partitions);
    }
  }
}
