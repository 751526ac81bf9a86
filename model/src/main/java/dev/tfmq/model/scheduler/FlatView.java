package dev.tfmq.model.scheduler;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/** Element access to a contiguous C-order float32 or float64 INDArray through a direct NIO view of its memory. */
abstract class FlatView {
    abstract double get(int i);

    abstract void set(int i, double v);

    abstract int length();

    static FlatView of(INDArray a, String what) {
        if (a == null) throw new IllegalArgumentException(what + " is null");
        if (a.length() > Integer.MAX_VALUE) throw new IllegalArgumentException(what + " is too large");
        if (!isContiguousC(a)) {
            throw new IllegalArgumentException(what + " must be a contiguous C-order array (use dup('c'))");
        }
        int n = (int) a.length();
        // the NIO view spans the whole underlying allocation; a view's elements start at its offset
        int base = Math.toIntExact(a.offset());
        if (a.dataType() == DataType.FLOAT) {
            FloatBuffer fb = a.data().asNioFloat();
            return new FlatView() {
                double get(int i) { return fb.get(base + i); }
                void set(int i, double v) { fb.put(base + i, (float) v); }
                int length() { return n; }
            };
        }
        if (a.dataType() == DataType.DOUBLE) {
            DoubleBuffer db = a.data().asNioDouble();
            return new FlatView() {
                double get(int i) { return db.get(base + i); }
                void set(int i, double v) { db.put(base + i, v); }
                int length() { return n; }
            };
        }
        throw new IllegalArgumentException(what + " must be float32 or float64, got " + a.dataType());
    }

    static boolean isContiguousC(INDArray a) {
        return dev.tfmq.model.nn.Host.isContiguousC(a);
    }

    static void requireSameLength(FlatView... views) {
        for (FlatView v : views) {
            if (v != null && v.length() != views[0].length()) {
                throw new IllegalArgumentException("arrays differ in length: " + views[0].length() + " vs " + v.length());
            }
        }
    }
}
