package dev.tfmq.metrics.stats;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;

/**
 * A uniform random sample of at most {@code capacity} feature vectors from a stream of any length (Vitter's
 * algorithm R, seeded), for the metrics that need individual features: KID, precision/recall, FID∞ and the
 * bootstrap of FID over samples.
 *
 * <p>Default capacity 10 000: KID draws 100 subsets of 1 000 and needs a pool several times the subset size for
 * the subsets to differ; precision/recall costs O(capacity²·D) for the k-NN radii (10⁴ points of 2048-d: ~4·10¹¹
 * flops, ~10 s on two cores) and the radii of k = 3 neighbours are stable at that size; memory is
 * capacity·D·4 bytes (80 MB at D = 2048). Vectors are stored as float32 because they arrive as float32;
 * every computation on them widens to double.
 */
public final class FeatureReservoir {
    public static final int DEFAULT_CAPACITY = 10_000;

    private final int dim;
    private final int capacity;
    private final float[] data;
    private final SplittableRandom random;
    private int size;
    private long seen;

    public FeatureReservoir(int dim, int capacity, long seed) {
        if (dim <= 0 || capacity <= 0) throw new IllegalArgumentException("dim and capacity must be positive");
        if ((long) dim * capacity > Integer.MAX_VALUE) throw new IllegalArgumentException("reservoir too large");
        this.dim = dim;
        this.capacity = capacity;
        this.data = new float[dim * capacity];
        this.random = new SplittableRandom(seed);
    }

    public int dim() { return dim; }

    public int capacity() { return capacity; }

    /** Vectors held (min(seen, capacity)). */
    public int size() { return size; }

    /** Vectors offered so far. */
    public long seen() { return seen; }

    /** Offers each row of a [B, D] batch. */
    public void add(INDArray batch) {
        if (batch.rank() != 2 || batch.columns() != dim) {
            throw new IllegalArgumentException("feature dimension mismatch: reservoir holds " + dim + "-d vectors, batch has shape "
                    + java.util.Arrays.toString(batch.shape()));
        }
        float[] rows = batch.castTo(DataType.FLOAT).dup('c').data().asFloat();
        int b = batch.rows();
        for (int i = 0; i < b; i++) {
            int slot;
            if (size < capacity) {
                slot = size++;
            } else {
                long j = random.nextLong(seen + 1);
                slot = j < capacity ? (int) j : -1;
            }
            seen++;
            if (slot >= 0) System.arraycopy(rows, i * dim, data, slot * dim, dim);
        }
    }

    /** The held vectors as a new float32 [size, D] array. */
    public INDArray features() {
        float[] copy = java.util.Arrays.copyOf(data, size * dim);
        return Nd4j.create(copy, new long[] {size, dim}, 'c');
    }
}
