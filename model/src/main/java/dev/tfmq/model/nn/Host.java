package dev.tfmq.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteOrder;

/** Bulk copies between Java arrays and contiguous ND4J buffers without per-element JNI calls. */
public final class Host {
    private Host() {}

    /** Writes {@code src} into the contiguous c-order array {@code dst} (FLOAT or DOUBLE; a view at an offset too). */
    public static void copyInto(double[] src, INDArray dst) {
        if (dst.length() != src.length) {
            throw new IllegalArgumentException("length " + src.length + " into array of " + dst.length());
        }
        if (!isContiguousC(dst)) throw new IllegalArgumentException("destination is not contiguous in C order");
        int base = Math.toIntExact(dst.offset());
        if (dst.dataType() == DataType.DOUBLE) {
            java.nio.DoubleBuffer d = dst.data().asNio().order(ByteOrder.nativeOrder()).asDoubleBuffer();
            for (int i = 0; i < src.length; i++) d.put(base + i, src[i]);
        } else if (dst.dataType() == DataType.FLOAT) {
            java.nio.FloatBuffer f = dst.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < src.length; i++) f.put(base + i, (float) src[i]);
        } else {
            throw new IllegalArgumentException("unsupported type " + dst.dataType());
        }
    }

    /**
     * Whether the elements lie contiguously in C order (possibly a view at an offset into a larger buffer), so that
     * a flat NIO view starting at {@code a.offset()} addresses them directly.
     */
    public static boolean isContiguousC(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expect = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expect) return false;
            expect *= shape[d];
        }
        return true;
    }
}
