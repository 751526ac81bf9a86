package dev.tfmq.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteOrder;

/** Bulk copies between Java arrays and contiguous ND4J buffers without per-element JNI calls. */
public final class Host {
    private Host() {}

    /** Writes {@code src} into the contiguous c-order array {@code dst} (FLOAT or DOUBLE). */
    public static void copyInto(double[] src, INDArray dst) {
        if (dst.length() != src.length) {
            throw new IllegalArgumentException("length " + src.length + " into array of " + dst.length());
        }
        if (dst.dataType() == DataType.DOUBLE) {
            dst.data().asNio().order(ByteOrder.nativeOrder()).asDoubleBuffer().put(src);
        } else if (dst.dataType() == DataType.FLOAT) {
            java.nio.FloatBuffer f = dst.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < src.length; i++) f.put(i, (float) src[i]);
        } else {
            throw new IllegalArgumentException("unsupported type " + dst.dataType());
        }
    }
}
