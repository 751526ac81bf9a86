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
            throw new IllegalArgumentException(what + " must be a contiguous C-order array that is not a view"
                    + " (use dup('c'))");
        }
        int n = (int) a.length();
        if (a.dataType() == DataType.FLOAT) {
            FloatBuffer fb = a.data().asNioFloat();
            return new FlatView() {
                double get(int i) { return fb.get(i); }
                void set(int i, double v) { fb.put(i, (float) v); }
                int length() { return n; }
            };
        }
        if (a.dataType() == DataType.DOUBLE) {
            DoubleBuffer db = a.data().asNioDouble();
            return new FlatView() {
                double get(int i) { return db.get(i); }
                void set(int i, double v) { db.put(i, v); }
                int length() { return n; }
            };
        }
        throw new IllegalArgumentException(what + " must be float32 or float64, got " + a.dataType());
    }

    /** C-order contiguous, starting at the beginning of its own buffer. */
    static boolean isContiguousC(INDArray a) {
        if (a.isView() || a.offset() != 0) return false;
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expect = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expect) return false;
            expect *= shape[d];
        }
        return a.data().length() >= a.length();
    }

    static void requireSameLength(FlatView... views) {
        for (FlatView v : views) {
            if (v != null && v.length() != views[0].length()) {
                throw new IllegalArgumentException("arrays differ in length: " + views[0].length() + " vs " + v.length());
            }
        }
    }
}
