package dev.tfmq.harness.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * An immutable float32 tensor that can travel in a message (Jackson/CBOR serialises it as a shape and a float
 * array). Callers must not modify {@link #data()}.
 */
public record Tensor(long[] shape, float[] data) {
    public Tensor {
        long n = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
    }

    /** Copies an array (any float type, any order) into a tensor. */
    public static Tensor of(INDArray a) {
        INDArray f = a.dataType() == DataType.FLOAT && a.ordering() == 'c' && !a.isView() ? a : a.castTo(DataType.FLOAT).dup('c');
        return new Tensor(a.shape().clone(), f.data().asFloat().length == a.length() ? f.data().asFloat() : f.dup('c').data().asFloat());
    }

    /** Rows [from, from + count) of the leading dimension. */
    public static Tensor rows(INDArray a, int from, int count) {
        long[] s = a.shape().clone();
        int per = (int) (a.length() / s[0]);
        float[] all = of(a).data;
        s[0] = count;
        return new Tensor(s, Arrays.copyOfRange(all, from * per, (from + count) * per));
    }

    public int rows() { return (int) shape[0]; }

    /** Values per leading-dimension row. */
    public int rowLength() { return shape[0] == 0 ? 0 : data.length / (int) shape[0]; }

    public INDArray toArray() {
        return Nd4j.create(data.clone(), shape.clone(), DataType.FLOAT);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data); }

    @Override
    public String toString() { return "Tensor" + Arrays.toString(shape); }
}
