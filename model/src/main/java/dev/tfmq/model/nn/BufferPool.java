package dev.tfmq.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Named, shape-keyed activation buffers that live across forward passes. The first pass at a batch size pays
 * for the allocations; every later pass at that size reuses them, so the hot path allocates no tensor memory.
 */
public final class BufferPool {
    private record Key(String name, long[] shape) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.name.equals(name) && Arrays.equals(k.shape, shape);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(shape);
        }
    }

    private final DataType dtype;
    private final Map<Key, INDArray> buffers = new HashMap<>();
    private long bytes;

    public BufferPool(DataType dtype) {
        this.dtype = dtype;
    }

    public DataType dtype() { return dtype; }

    /** The buffer called {@code name} with this shape (contents are whatever the last user left). */
    public INDArray get(String name, long... shape) {
        Key k = new Key(name, shape);
        INDArray a = buffers.get(k);
        if (a == null) {
            a = Nd4j.create(dtype, shape, 'c');
            buffers.put(new Key(name, shape.clone()), a);
            bytes += a.length() * dtype.width();
        }
        return a;
    }

    /** Bytes held by all buffers. */
    public long bytes() { return bytes; }

    /** Number of distinct buffers allocated so far (stable across passes at the same batch size). */
    public int count() { return buffers.size(); }

    public void clear() {
        buffers.clear();
        bytes = 0;
    }
}
