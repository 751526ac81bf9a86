package dev.tfmq.harness.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Comparator;
import java.util.TreeMap;

/**
 * A bounded sample of feature vectors: of all sample ids offered, the {@code capacity} with the smallest priority
 * hash(seed, id) are kept (bottom-k sampling). Unlike a sequential reservoir, what is kept depends only on the set of
 * ids offered — not on their order, batching, a resume, or how many machines produced them — so partial reservoirs
 * merge exactly and a resumed run keeps the same vectors. Every id has the same chance of being kept.
 */
public final class HashReservoir {
    private record Key(long priority, long id) {}

    private static final Comparator<Key> ORDER = Comparator.comparingLong(Key::priority).thenComparingLong(Key::id);

    private final int dim;
    private final int capacity;
    private final long seed;
    private final TreeMap<Key, float[]> kept = new TreeMap<>(ORDER);
    private long seen;

    public HashReservoir(int dim, int capacity, long seed) {
        if (capacity < 1) throw new IllegalArgumentException("reservoir capacity must be >= 1, got " + capacity);
        this.dim = dim;
        this.capacity = capacity;
        this.seed = seed;
    }

    public int size() { return kept.size(); }

    public long seen() { return seen; }

    public int dim() { return dim; }

    static long priority(long seed, long id) {
        long z = seed ^ 0x5851F42D4C957F2DL;
        z = mix(z + id * 0x9E3779B97F4A7C15L);
        return mix(z ^ 0x2545F4914F6CDD1DL) >>> 1;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Offers rows of a [B, dim] batch with the given sample ids. */
    public void offer(INDArray batch, long[] ids) {
        if (batch.rows() != ids.length || batch.columns() != dim) {
            throw new IllegalArgumentException("reservoir of dimension " + dim + " offered " + java.util.Arrays.toString(batch.shape())
                    + " with " + ids.length + " ids");
        }
        float[] all = batch.castTo(DataType.FLOAT).dup('c').data().asFloat();
        for (int i = 0; i < ids.length; i++) {
            float[] row = java.util.Arrays.copyOfRange(all, i * dim, (i + 1) * dim);
            offer(ids[i], row);
        }
    }

    void offer(long id, float[] row) {
        seen++;
        Key k = new Key(priority(seed, id), id);
        if (kept.size() < capacity) {
            kept.put(k, row);
        } else if (ORDER.compare(k, kept.lastKey()) < 0) {
            kept.pollLastEntry();
            kept.put(k, row);
        }
    }

    /** The kept vectors as [size, dim] float32, in priority order. */
    public INDArray features() {
        float[] out = new float[kept.size() * dim];
        int i = 0;
        for (float[] row : kept.values()) System.arraycopy(row, 0, out, dim * i++, dim);
        return Nd4j.create(out, new long[] {kept.size(), dim}, DataType.FLOAT);
    }

    /** Replaces this reservoir's contents with another's (same dimension). */
    void restoreFrom(HashReservoir other) {
        kept.clear();
        kept.putAll(other.kept);
        seen = other.seen;
    }

    public void write(DataOutputStream out) throws IOException {
        out.writeInt(dim);
        out.writeInt(capacity);
        out.writeLong(seed);
        out.writeLong(seen);
        out.writeInt(kept.size());
        for (var e : kept.entrySet()) {
            out.writeLong(e.getKey().id());
            for (float v : e.getValue()) out.writeFloat(v);
        }
    }

    public static HashReservoir read(DataInputStream in) throws IOException {
        HashReservoir r = new HashReservoir(in.readInt(), in.readInt(), in.readLong());
        long seen = in.readLong();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            long id = in.readLong();
            float[] row = new float[r.dim];
            for (int j = 0; j < r.dim; j++) row[j] = in.readFloat();
            r.kept.put(new Key(priority(r.seed, id), id), row);
        }
        r.seen = seen;
        return r;
    }
}
