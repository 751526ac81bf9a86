package dev.tfmq.strategies.quant;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/**
 * Element access to a contiguous C-order float32/float64 INDArray through its NIO memory. Fake quantization runs
 * element by element in Java (double arithmetic, one rounding to the array type) so that the result is the same
 * bit pattern on every run and after an artifact round trip, independent of how ND4J would fuse the ops.
 */
public abstract class FloatAccess {
    public abstract double get(long i);

    public abstract void set(long i, double v);

    public abstract long length();

    /** A view of {@code a}; fails clearly for non-contiguous arrays (copy them with {@code dup('c')} first). */
    public static FloatAccess of(INDArray a) {
        if (!isContiguousC(a)) {
            throw new IllegalArgumentException("array of shape " + java.util.Arrays.toString(a.shape())
                    + " is not contiguous in C order");
        }
        long n = a.length();
        int base = Math.toIntExact(a.offset());
        if (a.dataType() == DataType.FLOAT) {
            FloatBuffer fb = a.data().asNioFloat();
            return new FloatAccess() {
                public double get(long i) { return fb.get(base + (int) i); }
                public void set(long i, double v) { fb.put(base + (int) i, (float) v); }
                public long length() { return n; }
            };
        }
        if (a.dataType() == DataType.DOUBLE) {
            DoubleBuffer db = a.data().asNioDouble();
            return new FloatAccess() {
                public double get(long i) { return db.get(base + (int) i); }
                public void set(long i, double v) { db.put(base + (int) i, v); }
                public long length() { return n; }
            };
        }
        throw new IllegalArgumentException("expected a float32 or float64 array, got " + a.dataType());
    }

    public static boolean isContiguousC(INDArray a) {
        return dev.tfmq.model.nn.Host.isContiguousC(a);
    }

    /** All elements as doubles (C order). */
    public static double[] toDoubles(INDArray a) {
        INDArray c = isContiguousC(a) ? a : a.dup('c');
        FloatAccess f = of(c);
        double[] out = new double[Math.toIntExact(f.length())];
        for (int i = 0; i < out.length; i++) out[i] = f.get(i);
        return out;
    }
}
